//! Reading the rows of an uploaded Excel workbook (xlsx) without trusting it.
//!
//! An xlsx file is a zip of XML. A small file can claim an enormous sheet: two
//! cells at A1 and XFD1048576 make a reader that builds the whole range
//! allocate 17 billion cells, and 1.6 KB of compressed XML can expand to
//! gigabytes. So, before anything is parsed, every entry of the zip is
//! inflated into a counter (never into memory) and the whole refused past
//! `MAX_EXPANDED`; then the first sheet is read cell by cell, keeping only the
//! first `columns` columns, and refused at the first cell beyond `max_rows`
//! data rows. Memory stays bounded by those limits whatever the file says.

use std::io::{Cursor, Read};

use calamine::{Data, DataRef, Reader, Xlsx};

/// What the whole zip may inflate to: a 5,000-row import is about 1 MB.
pub const MAX_EXPANDED: u64 = 16 * 1024 * 1024;
/// Parts of a workbook: a real one has a few dozen.
const MAX_ENTRIES: usize = 500;
/// Longest text kept from one cell; the rest is cut (validation names it too
/// long). Only this much of a cell is ever read: one shared string of many
/// megabytes may be referenced by every cell of the sheet.
const MAX_CELL_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("请上传xlsx格式的Excel文件（可在Excel中“另存为”xlsx格式）")]
    NotXlsx,
    #[error("文件解压后过大，请检查文件内容或分批导入")]
    TooLarge,
    #[error("一次最多导入{0}行，请分批导入")]
    TooManyRows(usize),
    #[error("文件中没有工作表")]
    NoSheet,
    #[error("无法读取该文件，请上传xlsx格式的Excel文件")]
    Unreadable,
}

/// One row of the sheet: its line number in Excel (1 for the first row) and
/// the text of its first `columns` cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

/// Refuses a zip whose entries inflate past `MAX_EXPANDED` in all, by
/// inflating each into a counter.
fn check_expansion(bytes: &[u8], max_expanded: u64) -> Result<(), SheetError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| SheetError::NotXlsx)?;
    if zip.len() > MAX_ENTRIES {
        return Err(SheetError::TooLarge);
    }
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|_| SheetError::Unreadable)?;
        // The start of the shared strings is kept to look at their declared count.
        let shared = entry.name().map_or(true, |n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"));
        let mut kept: Option<SharedCheck> = shared.then(SharedCheck::default);
        loop {
            let n = entry.read(&mut buf).map_err(|_| SheetError::Unreadable)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > max_expanded {
                return Err(SheetError::TooLarge);
            }
            // All of it: a declared count may come after any amount of padding.
            if let Some(k) = kept.as_mut() {
                k.feed(&buf[..n])?;
            }
        }
        if let Some(k) = kept {
            k.finish()?;
        }
    }
    Ok(())
}

/// The most shared strings a workbook may declare. The reader reserves room
/// for the declared `uniqueCount` before reading one (24 bytes each): a
/// 1.6 KB file declaring 100 billion asks for 2.4 TB, and a failed
/// allocation ends the process rather than the request.
const MAX_SHARED_STRINGS: u64 = 1_000_000;

/// How much of the shared strings holds their opening tag, and the longest
/// attribute looked at.
const SHARED_HEAD: usize = 64 * 1024;

/// Refuses shared strings whose opening tag is not in their first
/// [`SHARED_HEAD`] bytes.
fn check_opening(xml: &[u8]) -> Result<(), SheetError> {
    let opening = (0..xml.len()).find(|&i| {
        let rest = &xml[i..];
        matches!(rest.first(), Some(b'<' | b':'))
            && rest.get(1..4) == Some(b"sst")
            && rest.get(4).is_some_and(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
    });
    let closed = opening.is_some_and(|o| xml[o..].contains(&b'>'));
    if !closed {
        return Err(SheetError::Unreadable);
    }
    Ok(())
}

/// Checks every `uniqueCount` attribute of `xml`, a piece of the part as it
/// streams; returns where the part not yet judged begins (an attribute cut
/// by the piece's end, or the last bytes that may start one), to be looked
/// at again with the next piece. At the part's end (`last`) nothing may be left.
fn check_counts(xml: &[u8], last: bool) -> Result<usize, SheetError> {
    const ATTR: &[u8] = b"uniqueCount";
    let mut from = 0;
    let cut = |start: usize| if last { Err(SheetError::Unreadable) } else { Ok(start) };
    while let Some(at) = xml[from..].windows(ATTR.len()).position(|w| w == ATTR) {
        let start = from + at;
        let mut i = start + ATTR.len();
        from = i;
        let skip_space = |i: &mut usize| {
            while xml.get(*i).is_some_and(|b| b.is_ascii_whitespace()) {
                *i += 1;
            }
        };
        skip_space(&mut i);
        match xml.get(i) {
            None => return cut(start),
            Some(b'=') => {}
            Some(_) => continue, // the word in a text, not an attribute
        }
        i += 1;
        skip_space(&mut i);
        let Some(&quote) = xml.get(i) else { return cut(start) };
        if quote != b'"' && quote != b'\'' {
            return Err(SheetError::Unreadable);
        }
        let value = &xml[i + 1..];
        let Some(end) = value.iter().position(|b| *b == quote) else { return cut(start) };
        let n = std::str::from_utf8(&value[..end]).ok().and_then(|v| v.trim().parse::<u64>().ok());
        if n.is_none_or(|n| n > MAX_SHARED_STRINGS) {
            return Err(SheetError::TooLarge);
        }
        from = i + 1 + end;
    }
    Ok(xml.len().saturating_sub(ATTR.len() - 1).max(from.min(xml.len())))
}

/// The whole shared-strings part, as it inflates: its opening tag in the
/// first [`SHARED_HEAD`] bytes and every declared count, holding at most
/// one piece and an attribute cut by its end (an attribute longer than
/// [`SHARED_HEAD`] is refused).
#[derive(Default)]
struct SharedCheck {
    head: Vec<u8>,
    carry: Vec<u8>,
}

impl SharedCheck {
    fn feed(&mut self, piece: &[u8]) -> Result<(), SheetError> {
        let room = SHARED_HEAD.saturating_sub(self.head.len());
        self.head.extend_from_slice(&piece[..piece.len().min(room)]);
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(piece);
        let keep = check_counts(&data, false)?;
        if data.len() - keep > SHARED_HEAD {
            return Err(SheetError::Unreadable);
        }
        self.carry = data[keep..].to_vec();
        Ok(())
    }

    fn finish(self) -> Result<(), SheetError> {
        check_opening(&self.head)?;
        check_counts(&self.carry, true).map(|_| ())
    }
}

/// The start of a text, trimmed, looking at no more than twice the length kept.
fn cut(s: &str) -> String {
    let kept: String =
        s.chars().take(2 * MAX_CELL_CHARS).skip_while(|c| c.is_whitespace()).take(MAX_CELL_CHARS).collect();
    kept.trim_end().to_owned()
}

fn text(d: &DataRef<'_>) -> String {
    match d {
        DataRef::Empty => String::new(),
        DataRef::SharedString(s) => cut(s),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => cut(s),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        d => cut(&Data::from(d.clone()).to_string()),
    }
}

/// The rows of the first sheet, the header included, each cut to `columns`
/// cells; empty rows are left out. More than `max_rows` rows after the header
/// is refused as soon as the first one beyond is met.
pub fn read_rows(bytes: &[u8], columns: usize, max_rows: usize) -> Result<Vec<Row>, SheetError> {
    read_rows_within(bytes, columns, max_rows, MAX_EXPANDED)
}

/// The same, for a workbook allowed to inflate to `max_expanded` bytes.
pub fn read_rows_within(
    bytes: &[u8],
    columns: usize,
    max_rows: usize,
    max_expanded: u64,
) -> Result<Vec<Row>, SheetError> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(SheetError::NotXlsx);
    }
    check_expansion(bytes, max_expanded)?;
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|_| SheetError::Unreadable)?;
    let first = book.sheet_names().into_iter().next().ok_or(SheetError::NoSheet)?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(|_| SheetError::Unreadable)?;
    // Indexed by the sheet's row number (0 for the header).
    let mut rows: Vec<Vec<String>> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(|_| SheetError::Unreadable)? {
        let (r, c) = cell.get_position();
        let (r, c) = (r as usize, c as usize);
        if r > max_rows {
            return Err(SheetError::TooManyRows(max_rows));
        }
        if c >= columns {
            continue;
        }
        if rows.len() <= r {
            rows.resize_with(r + 1, || vec![String::new(); columns]);
        }
        rows[r][c] = text(cell.get_value());
    }
    Ok(rows
        .into_iter()
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
        .map(|(i, cells)| Row { line: i + 1, cells })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::io::Write;

    use super::*;

    // Counts what this thread has allocated and not yet freed, and the peak of it.
    struct Counting;
    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }
    fn note(delta: isize) {
        let _ = LIVE.try_with(|l| {
            let now = l.get() + delta;
            l.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
    }
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size() as isize);
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            note(-(layout.size() as isize));
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
            note(new as isize - layout.size() as isize);
            unsafe { System.realloc(ptr, layout, new) }
        }
    }
    #[global_allocator]
    static ALLOC: Counting = Counting;

    /// The most this thread held at once while `f` ran, above what it held before.
    fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = LIVE.with(|l| l.get());
        PEAK.with(|p| p.set(base));
        let out = f();
        (out, (PEAK.with(|p| p.get()) - base).max(0) as usize)
    }

    const MB: usize = 1024 * 1024;

    /// An xlsx made by hand, with `sheet` as the first sheet's XML.
    fn workbook(sheet: &mut dyn FnMut(&mut dyn Write)) -> Vec<u8> {
        workbook_with(None, sheet)
    }

    const SST: &str = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

    /// The same, with a shared-strings part: its opening tag and its strings.
    fn workbook_with(shared: Option<(&str, &[&str])>, sheet: &mut dyn FnMut(&mut dyn Write)) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let parts: [(&str, &str); 4] = [
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
            ),
            (
                "_rels/.rels",
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
            (
                "xl/workbook.xml",
                r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="学时记录" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
            ),
            (
                "xl/_rels/workbook.xml.rels",
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
            ),
        ];
        for (name, xml) in parts {
            zip.start_file(name, opts).unwrap();
            zip.write_all(xml.as_bytes()).unwrap();
        }
        if let Some((open, strings)) = shared {
            zip.start_file("xl/sharedStrings.xml", opts).unwrap();
            write!(zip, r#"<?xml version="1.0"?>{open}"#).unwrap();
            for s in strings {
                write!(zip, "<si><t>{s}</t></si>").unwrap();
            }
            zip.write_all(b"</sst>").unwrap();
        }
        zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        let mut w = std::io::BufWriter::new(&mut zip);
        w.write_all(br#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#).unwrap();
        sheet(&mut w);
        w.write_all(b"</sheetData></worksheet>").unwrap();
        w.flush().unwrap();
        drop(w);
        zip.finish().unwrap().into_inner()
    }

    fn row(w: &mut dyn Write, r: usize, values: &[&str]) {
        write!(w, r#"<row r="{r}">"#).unwrap();
        for (i, v) in values.iter().enumerate() {
            let col = (b'A' + i as u8) as char;
            write!(w, r#"<c r="{col}{r}" t="inlineStr"><is><t>{v}</t></is></c>"#).unwrap();
        }
        w.write_all(b"</row>").unwrap();
    }

    #[test]
    fn reads_the_first_columns_of_each_row_and_skips_empty_rows() {
        let book = workbook(&mut |w| {
            row(w, 1, &["会员编号", "年度", "学时", "类别", "内容", "多余"]);
            row(w, 2, &["44201000001", "2025", "8", "专业", "课程"]);
            row(w, 4, &["44201000002", "2025", "4", "职业道德", "课程"]);
        });
        let rows = read_rows(&book, 5, 10).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].cells, ["会员编号", "年度", "学时", "类别", "内容"]);
        assert_eq!((rows[2].line, rows[2].cells[0].as_str()), (4, "44201000002"));
    }

    #[test]
    fn two_cells_at_the_corners_of_the_sheet_are_refused_in_bounded_memory() {
        // The attack: A1 and XFD1048576, 1.6 KB, which a whole-range reader
        // turns into a 512 GB allocation.
        let book = workbook(&mut |w| {
            w.write_all(br#"<row r="1"><c r="A1"><v>1</v></c></row>"#).unwrap();
            w.write_all(br#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#).unwrap();
        });
        assert!(book.len() < 4096, "a tiny file: {} bytes", book.len());
        let (r, peak) = peak_of(|| read_rows(&book, 5, 5000));
        assert_eq!(r, Err(SheetError::TooManyRows(5000)));
        assert!(peak < 2 * MB, "held {} KB", peak / 1024);
    }

    #[test]
    fn a_declared_count_of_a_hundred_billion_shared_strings_is_refused_before_reading() {
        // The attack: 1.6 KB declaring uniqueCount="100000000000"; the reader
        // reserved 2.4 TB for it and the failed allocation ended the process.
        for open in [
            r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="100000000000">"#,
            r#"<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount = '1000001'>"#,
            r#"<sst uniqueCount="99999999999999999999999">"#,
            r#"<sst uniqueCount="+5000000">"#,
        ]
        .into_iter()
        .map(str::to_owned)
        // The count after 70 KB of padding, behind a decoy tag in a comment or an attribute.
        .chain([
            format!(r#"<!-- <sst> -->{}<sst count="31" uniqueCount="100000000000">"#, " ".repeat(70_000)),
            format!(r#"<sst a=">"{} uniqueCount="100000000000">"#, " ".repeat(70_000)),
        ]) {
            let open = open.as_str();
            let book = workbook_with(Some((open, &["会员编号"])), &mut |w| {
                w.write_all(br#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#).unwrap();
            });
            assert!(book.len() < 4096, "a tiny file: {} bytes", book.len());
            let (r, peak) = peak_of(|| read_rows(&book, 5, 5000));
            assert_eq!(r, Err(SheetError::TooLarge), "{open}");
            assert!(peak < 2 * MB, "held {} KB", peak / 1024);
        }
        // An honest count is read as before.
        let open =
            r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">"#;
        let book = workbook_with(Some((open, &["会员编号"])), &mut |w| {
            w.write_all(br#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#).unwrap();
        });
        assert_eq!(read_rows(&book, 5, 10).unwrap()[0].cells[0], "会员编号");
    }

    #[test]
    fn a_million_rows_are_refused_before_they_are_parsed() {
        // 1,000,000 rows of one cell: it inflates past the limit and is never parsed.
        let book = workbook(&mut |w| {
            for r in 1..=1_000_000 {
                write!(w, "<row><c><v>{r}</v></c></row>").unwrap();
            }
        });
        let (r, peak) = peak_of(|| read_rows(&book, 5, 5000));
        assert_eq!(r, Err(SheetError::TooLarge));
        assert!(peak < 2 * MB, "held {} KB", peak / 1024);
    }

    #[test]
    fn a_long_sheet_within_the_size_limit_stops_at_the_first_row_beyond() {
        // 100,000 short rows inflate to 3 MB: read cell by cell and refused at row 5,002.
        let book = workbook(&mut |w| {
            for r in 1..=100_000 {
                write!(w, "<row><c><v>{r}</v></c></row>").unwrap();
            }
        });
        let (r, peak) = peak_of(|| read_rows(&book, 5, 5000));
        assert_eq!(r, Err(SheetError::TooManyRows(5000)));
        assert!(peak < 4 * MB, "held {} KB", peak / 1024);
    }

    #[test]
    fn a_compressed_bomb_is_refused_without_inflating_into_memory() {
        // One shared-strings part of 32 MB of spaces, a few dozen KB compressed.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("xl/sharedStrings.xml", opts).unwrap();
        let spaces = vec![b' '; MB];
        for _ in 0..32 {
            zip.write_all(&spaces).unwrap();
        }
        let book = zip.finish().unwrap().into_inner();
        let (r, peak) = peak_of(|| read_rows(&book, 5, 5000));
        assert_eq!(r, Err(SheetError::TooLarge));
        assert!(peak < 2 * MB, "held {} KB", peak / 1024);
    }

    #[test]
    fn one_huge_shared_string_in_every_cell_is_read_once_and_cut() {
        // The attack: one 15 MB shared string, 98 KB compressed, referenced
        // by 25,000 cells; copying it per cell is 375 GB of work.
        let header = ["会员编号", "年度", "学时", "类别", "内容"];
        let huge = "a".repeat(15 * MB);
        let mut strings: Vec<&str> = header.to_vec();
        strings.push(&huge);
        let book = workbook_with(Some((SST, &strings)), &mut |w| {
            write!(w, r#"<row r="1">"#).unwrap();
            for (i, _) in header.iter().enumerate() {
                write!(w, r#"<c r="{}1" t="s"><v>{i}</v></c>"#, (b'A' + i as u8) as char).unwrap();
            }
            w.write_all(b"</row>").unwrap();
            for r in 2..=5001 {
                write!(w, r#"<row r="{r}">"#).unwrap();
                for c in b'A'..=b'E' {
                    write!(w, r#"<c r="{}{r}" t="s"><v>5</v></c>"#, c as char).unwrap();
                }
                w.write_all(b"</row>").unwrap();
            }
        });
        assert!(book.len() < 200 * 1024, "a small file: {} KB", book.len() / 1024);
        let started = std::time::Instant::now();
        let (rows, peak) = peak_of(|| read_rows(&book, 5, 5000).unwrap());
        let took = started.elapsed();
        assert_eq!(rows.len(), 5001);
        assert_eq!(rows[1].cells[4].chars().count(), MAX_CELL_CHARS, "cut to the longest text kept");
        assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
        // The shared string itself (15 MB) and 25,000 cells of 300 characters.
        assert!(peak < 48 * MB, "held {} MB", peak / MB);
    }

    #[test]
    fn other_files_are_not_workbooks() {
        assert_eq!(read_rows(b"%PDF-1.4 ...", 5, 10), Err(SheetError::NotXlsx));
        assert_eq!(read_rows(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 old xls", 5, 10), Err(SheetError::NotXlsx));
        assert_eq!(read_rows(b"PK\x03\x04 not really", 5, 10), Err(SheetError::NotXlsx));
    }
}
