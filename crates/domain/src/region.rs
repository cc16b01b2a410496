//! Provincial-level divisions and their two-digit codes (GB/T 2260), used in
//! resident IDs, firm numbers, exam certificate numbers and member numbers.

/// (code, short name). Firm numbers also use code 10 for firms supervised by CICPA.
pub const PROVINCES: &[(&str, &str)] = &[
    ("11", "北京"),
    ("12", "天津"),
    ("13", "河北"),
    ("14", "山西"),
    ("15", "内蒙古"),
    ("21", "辽宁"),
    ("22", "吉林"),
    ("23", "黑龙江"),
    ("31", "上海"),
    ("32", "江苏"),
    ("33", "浙江"),
    ("34", "安徽"),
    ("35", "福建"),
    ("36", "江西"),
    ("37", "山东"),
    ("41", "河南"),
    ("42", "湖北"),
    ("43", "湖南"),
    ("44", "广东"),
    ("45", "广西"),
    ("46", "海南"),
    ("50", "重庆"),
    ("51", "四川"),
    ("52", "贵州"),
    ("53", "云南"),
    ("54", "西藏"),
    ("61", "陕西"),
    ("62", "甘肃"),
    ("63", "青海"),
    ("64", "宁夏"),
    ("65", "新疆"),
];

/// Hong Kong, Macau and Taiwan: area codes of the residence permits.
pub const SARS: &[(&str, &str)] = &[("81", "香港"), ("82", "澳门"), ("83", "台湾")];

pub fn province_name(code: &str) -> Option<&'static str> {
    PROVINCES.iter().chain(SARS).find(|(c, _)| *c == code).map(|(_, n)| *n)
}

pub fn is_province(code: &str) -> bool {
    PROVINCES.iter().any(|(c, _)| *c == code)
}
