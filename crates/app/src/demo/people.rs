//! Who the demo's people are: names, resident IDs and mobile numbers drawn
//! from (seed, i), and where they are placed (provinces weighted by size).

use chrono::{Duration, NaiveDate};
use cmis_domain::{ResidentId, Sex};

use crate::organisations::{Association, Organisations};

pub(super) fn mix(seed: u64, i: u64, salt: u64) -> u64 {
    // splitmix64
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
pub(super) const MALE: &str = "伟强磊军洋勇杰涛明超刚华飞鑫波宇浩凯健俊帆帅旭宁晨阳博文嘉志建国海东峰斌辉鹏亮";
pub(super) const FEMALE: &str = "芳娜秀英敏静丽艳娟霞桂华欣怡佳琪雪梦婷涵思雨慧晓燕红玉春梅兰萍颖倩璐瑶";
pub(super) const FIRM_WORDS: &str =
    "正宏信永中和天健立信大华致同容诚安永普华华兴众环永拓中审亚太中兴财光大公证天恒鹏盛德勤";
pub(super) const UNITS: &[&str] = &[
    "中国银行",
    "国家电网",
    "中国石化",
    "华为技术有限公司",
    "招商银行",
    "某市财政局",
    "某大学",
    "中国平安",
    "中信证券",
    "某市国资委",
];

pub(super) fn pick(s: &str, r: u64) -> char {
    let chars: Vec<char> = s.chars().collect();
    chars[(r % chars.len() as u64) as usize]
}

pub(super) fn person_name(seed: u64, i: u64, salt: u64, sex: Sex) -> String {
    let pool = if sex == Sex::Male { MALE } else { FEMALE };
    let mut n = String::new();
    n.push(pick(SURNAMES, mix(seed, i, salt)));
    n.push(pick(pool, mix(seed, i, salt + 1)));
    if !mix(seed, i, salt + 2).is_multiple_of(3) {
        n.push(pick(pool, mix(seed, i, salt + 3)));
    }
    n
}

/// Rough weights by province: the large provinces have more firms and members.
pub(super) fn weight(a: &Association) -> u64 {
    match a.code.as_str() {
        "11" | "31" | "44" | "32" | "33" => 8,
        "37" | "41" | "42" | "51" | "4403" | "50" | "35" | "34" | "43" | "13" | "21" => 4,
        "54" | "63" | "64" => 1,
        _ => 2,
    }
}

/// A resident ID that no other demo person of the same kind can have: for
/// one area code, birth day and sequence are a bijection of `i` over 7 million
/// people; past that the district changes. `kind` keeps CPAs and members apart.
pub(super) fn resident_id(seed: u64, i: u64, province: &str, kind: u64, sex: Sex) -> ResidentId {
    const DAYS: u64 = 14_000;
    const PER_AREA: u64 = DAYS * 500;
    let j = i % PER_AREA;
    let district = 1 + i / PER_AREA;
    let day = (j.wrapping_mul(7919) + seed % DAYS) % DAYS;
    let birth = NaiveDate::from_ymd_opt(1960, 1, 1).expect("valid") + Duration::days(day as i64);
    let seq = (j / DAYS) * 2 + if sex == Sex::Male { 1 } else { 0 };
    ResidentId::compose(&format!("{province}{kind:02}{district:02}"), birth, seq as u16)
        .expect("composed from valid parts")
}

pub(super) fn mobile(seed: u64, i: u64, salt: u64) -> String {
    const PREFIX: [&str; 8] = ["138", "139", "135", "136", "186", "187", "150", "158"];
    let r = mix(seed, i, salt);
    format!("{}{:08}", PREFIX[(r % 8) as usize], (r / 8) % 100_000_000)
}

pub(super) struct Placement<'a> {
    pub(super) provincial: &'a Association,
    pub(super) city: Option<&'a Association>,
    /// Two-digit province code used in numbers.
    pub(super) province: String,
    /// Two-digit city code used in firm numbers.
    pub(super) city_code: String,
}

pub(super) fn place<'a>(
    orgs: &'a Organisations,
    weighted: &[(&'a Association, u64)],
    total: u64,
    r: u64,
) -> Placement<'a> {
    let mut x = r % total;
    let mut chosen = weighted[0].0;
    for (a, w) in weighted {
        if x < *w {
            chosen = a;
            break;
        }
        x -= w;
    }
    let cities: Vec<&Association> = orgs.children(chosen.id).collect();
    let city = (!cities.is_empty()).then(|| cities[((r >> 20) % cities.len() as u64) as usize]);
    let province = chosen.province_code.clone().unwrap_or_else(|| "11".into());
    let city_code = match (city, chosen.code.len()) {
        (Some(c), _) => c.code[2..4].to_owned(),
        (None, 4) => chosen.code[2..4].to_owned(), // 深圳: 4403
        _ => "01".to_owned(),
    };
    Placement { provincial: chosen, city, province, city_code }
}
