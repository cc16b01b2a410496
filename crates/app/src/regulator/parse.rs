//! The regulator's data as a file: CSV (UTF-8, a heading row), JSON lines
//! (one object a line) or an Excel workbook (xlsx, a heading row on the
//! first sheet). Headings may be the interface's names or the Chinese ones
//! (`cmis_domain::regulator::FIELDS`); unknown columns are ignored. Each row
//! becomes a record or the reason it is refused, with its line number.

use cmis_domain::regulator::{self, Record};

use crate::spreadsheet;

/// The largest Excel workbook read (national data comes as CSV or JSON lines).
pub const XLSX_MAX_ROWS: usize = 20_000;
const XLSX_MAX_EXPANDED: u64 = 32 * 1024 * 1024;
/// The longest line of a CSV or JSON-lines file: a record is well under 2 KB.
const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
    Xlsx,
}

/// What the file is, by its content.
pub fn format_of(bytes: &[u8]) -> Result<Format, String> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Format::Xlsx);
    }
    let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match start.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err("文件为空".into()),
        Some(b'{') => Ok(Format::JsonLines),
        Some(_) => match std::str::from_utf8(&start[..start.len().min(64 * 1024)]) {
            // A character cut at the end of the probe is no fault of the file.
            Ok(_) => Ok(Format::Csv),
            Err(e) if e.error_len().is_none() => Ok(Format::Csv),
            Err(_) => Err("CSV文件应为UTF-8编码（在Excel中“另存为”时选择“CSV UTF-8”）".into()),
        },
    }
}

/// The file as JSON lines: a workbook is read once (and may take a while:
/// call it off the async threads), its rows written as objects that keep
/// their sheet line; CSV and JSON lines are returned as they are.
pub fn normalized(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    if format_of(bytes)? != Format::Xlsx {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let rows = spreadsheet::read_rows_within(bytes, regulator::FIELDS.len() + 20, XLSX_MAX_ROWS, XLSX_MAX_EXPANDED)
        .map_err(|e| e.to_string())?;
    let mut it = rows.into_iter();
    let heading = it.next().ok_or("文件为空")?;
    let columns: Vec<Option<&'static str>> = heading.cells.iter().map(|h| regulator::field_of(h)).collect();
    if !columns.contains(&Some("kind")) {
        return Err("第一行应为标题行，且包含“记录类型”列".into());
    }
    let mut out = Vec::new();
    for r in it {
        let mut obj = serde_json::Map::new();
        obj.insert(LINE.into(), r.line.into());
        for (c, v) in columns.iter().zip(r.cells) {
            if let Some(c) = c {
                obj.insert((*c).into(), v.into());
            }
        }
        serde_json::to_writer(&mut out, &obj).map_err(|e| e.to_string())?;
        out.push(b'\n');
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// The sheet line a normalized workbook row came from.
const LINE: &str = "_line";

/// One row: its line, and the record, or the number it names (as given)
/// and why it is refused.
pub type Line = (usize, Result<Record, (String, String)>);

/// The rows of a file (CSV or JSON lines: a workbook is `normalized` first),
/// in order. A file that cannot be read at all is an error; a row that
/// cannot be read is a refused line.
pub fn rows(bytes: &[u8]) -> Result<Box<dyn Iterator<Item = Line> + Send + '_>, String> {
    match format_of(bytes)? {
        // Read once by `normalized`, never row by row here.
        Format::Xlsx => Err("工作簿须先转换为JSON行".into()),
        Format::JsonLines => Ok(Box::new(json_lines(bytes))),
        Format::Csv => csv(bytes),
    }
}

fn record_of(fields: &[(&'static str, String)]) -> Result<Record, (String, String)> {
    let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| v.clone()).unwrap_or_default();
    regulator::parse(&get).map_err(|why| {
        let key = if regulator::kind_of(&get("kind")) == Some("firm") { get("firm_no") } else { get("cpa_no") };
        (key.trim().chars().take(30).collect(), why)
    })
}

fn refused(why: impl Into<String>) -> Result<Record, (String, String)> {
    Err((String::new(), why.into()))
}

fn json_lines(bytes: &[u8]) -> impl Iterator<Item = Line> + '_ {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.split(|b| *b == b'\n').enumerate().filter(|(_, l)| l.iter().any(|b| !b.is_ascii_whitespace())).map(
        |(i, l)| {
            let line = i + 1;
            if l.len() > MAX_LINE {
                return (line, refused(format!("该行超过{}KB", MAX_LINE / 1024)));
            }
            let parsed: Result<serde_json::Map<String, serde_json::Value>, _> = serde_json::from_slice(l);
            let Ok(obj) = parsed else { return (line, refused("该行不是有效的JSON对象")) };
            let line = obj.get(LINE).and_then(|v| v.as_u64()).map_or(line, |l| l as usize);
            let fields: Vec<(&'static str, String)> = obj
                .iter()
                .filter_map(|(k, v)| {
                    let f = regulator::field_of(k)?;
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) => n.to_string(),
                        serde_json::Value::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
                        _ => String::new(),
                    };
                    Some((f, text))
                })
                .collect();
            (line, record_of(&fields))
        },
    )
}

fn csv(bytes: &[u8]) -> Result<Box<dyn Iterator<Item = Line> + Send + '_>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "CSV文件应为UTF-8编码（在Excel中“另存为”时选择“CSV UTF-8”）".to_owned())?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut records = CsvRecords { rest: text, line: 1 };
    let (_, heading) = records.next().ok_or("文件为空")?.map_err(|(_, e)| e)?;
    let columns: Vec<Option<&'static str>> = heading.iter().map(|h| regulator::field_of(h)).collect();
    if !columns.contains(&Some("kind")) {
        return Err("文件第一行应为标题行，且包含“记录类型”列".into());
    }
    Ok(Box::new(records.filter_map(move |r| match r {
        Err((line, e)) => Some((line, refused(e))),
        Ok((line, cells)) => {
            if cells.iter().all(|c| c.trim().is_empty()) {
                return None;
            }
            let fields: Vec<(&'static str, String)> =
                columns.iter().zip(cells).filter_map(|(c, v)| c.map(|c| (c, v))).collect();
            Some((line, record_of(&fields)))
        }
    })))
}

/// The records of a CSV text (RFC 4180: quoted cells may hold commas,
/// doubled quotes and line breaks), each with the line it starts on.
struct CsvRecords<'a> {
    rest: &'a str,
    line: usize,
}

impl Iterator for CsvRecords<'_> {
    type Item = Result<(usize, Vec<String>), (usize, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let start = self.line;
        let mut cells = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut chars = self.rest.char_indices().peekable();
        let mut consumed = self.rest.len();
        let mut length = 0usize;
        while let Some((i, c)) = chars.next() {
            length += c.len_utf8();
            if length > MAX_LINE {
                // Skip to the end of the line and refuse it.
                let end = self.rest[i..].find('\n').map_or(self.rest.len(), |n| i + n + 1);
                self.rest = &self.rest[end..];
                self.line += 1;
                return Some(Err((start, format!("该行超过{}KB", MAX_LINE / 1024))));
            }
            match (quoted, c) {
                (true, '"') if chars.peek().is_some_and(|(_, n)| *n == '"') => {
                    chars.next();
                    cell.push('"');
                }
                (true, '"') => quoted = false,
                (true, '\n') => {
                    self.line += 1;
                    cell.push('\n');
                }
                (true, c) => cell.push(c),
                (false, '"') if cell.is_empty() => quoted = true,
                (false, ',') => cells.push(std::mem::take(&mut cell)),
                // A line ended by CR alone (old spreadsheet exports).
                (false, '\r') if chars.peek().is_some_and(|(_, n)| *n != '\n') => {
                    consumed = i + 1;
                    break;
                }
                (false, '\r') => {}
                (false, '\n') => {
                    consumed = i + 1;
                    break;
                }
                (false, c) => cell.push(c),
            }
        }
        if quoted {
            // An opening quote never closed would swallow the rest of the file.
            let end = self.rest.find('\n').map_or(self.rest.len(), |n| n + 1);
            self.rest = &self.rest[end..];
            self.line = start + 1;
            return Some(Err((start, "引号未闭合".into())));
        }
        cells.push(cell);
        self.rest = &self.rest[consumed..];
        self.line += 1;
        Some(Ok((start, cells)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_keep_quotes_commas_and_line_breaks() {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nlast,,\n";
        let rows: Vec<_> = CsvRecords { rest: text, line: 1 }.map(|r| r.unwrap()).collect();
        assert_eq!(rows[0], (1, vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(rows[1], (2, vec!["x, y".into(), "say \"hi\"".into(), "two\nlines".into()]));
        assert_eq!(rows[2], (4, vec!["last".into(), String::new(), String::new()]));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn an_unclosed_quote_is_one_refused_line_and_cr_ends_a_line() {
        let text = "a,b\n\"x,y\nz,w\nlast,1\n";
        let rows: Vec<_> = CsvRecords { rest: text, line: 1 }.collect();
        assert_eq!(rows[1], Err((2, "引号未闭合".to_owned())));
        assert_eq!(rows[2], Ok((3, vec!["z".into(), "w".into()])));
        let cr: Vec<_> = CsvRecords { rest: "a,b\rc,d\r", line: 1 }.map(|r| r.unwrap().1).collect();
        assert_eq!(cr, vec![vec!["a".to_owned(), "b".into()], vec!["c".into(), "d".into()]]);
    }

    #[test]
    fn the_format_is_told_by_content() {
        assert_eq!(format_of(b"\xEF\xBB\xBF{\"kind\":\"cpa\"}\n"), Ok(Format::JsonLines));
        assert_eq!(format_of("记录类型,事务所编号\n".as_bytes()), Ok(Format::Csv));
        assert_eq!(format_of(b"PK\x03\x04rest"), Ok(Format::Xlsx));
        assert!(format_of(b"\xC4\xE3\xBA\xC3,\xff\xfe\n").is_err(), "GBK text is refused with a hint");
        assert!(format_of(b"  \n").is_err());
    }

    #[test]
    fn rows_are_read_by_heading_whatever_the_order() {
        let text = "事务所名称,记录类型,事务所编号,组织形式,备注\n甲会计师事务所,事务所,50010028,合伙,x\n,,,,\n乙,事务所,123,合伙,\n";
        let lines: Vec<Line> = rows(text.as_bytes()).unwrap().collect();
        assert_eq!(lines.len(), 2, "the empty row is skipped");
        assert!(matches!(&lines[0], (2, Ok(Record::Firm(f))) if f.name == "甲会计师事务所"));
        assert_eq!(lines[1], (4, Err(("123".to_owned(), "事务所编号格式不正确".to_owned()))));
        let no_kind = "事务所编号,事务所名称\n50010028,甲\n";
        assert!(rows(no_kind.as_bytes()).is_err());
    }

    #[test]
    fn json_lines_refuse_a_broken_line_and_go_on() {
        let text = "{\"kind\":\"firm\",\"firm_no\":\"50010028\",\"firm_name\":\"甲\",\"form\":\"合伙\"}\nnot json\n\n{\"记录类型\":\"事务所\",\"事务所编号\":50010029,\"事务所名称\":\"乙\",\"组织形式\":\"有限责任\"}\n";
        let lines: Vec<Line> = rows(text.as_bytes()).unwrap().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].1.is_ok());
        assert_eq!(lines[1], (2, Err((String::new(), "该行不是有效的JSON对象".to_owned()))));
        assert!(matches!(&lines[2], (4, Ok(Record::Firm(f))) if f.firm_no.as_str() == "50010029"));
    }

    #[test]
    fn an_overlong_line_is_refused_alone() {
        let long = format!("记录类型,事务所名称\n事务所,{}\n事务所,乙\n", "长".repeat(10_000));
        let lines: Vec<Line> = rows(long.as_bytes()).unwrap().collect();
        assert_eq!(lines[0], (2, Err((String::new(), "该行超过16KB".to_owned()))));
        assert_eq!(lines.len(), 2);
    }
}
