//! The Excel export of a queue, run as a job.

use chrono::{DateTime, Utc};
use cmis_domain::coded::Coded;
use cmis_store::entity::review_case as row;
use sea_orm::{PaginatorTrait, QueryOrder, QuerySelect};
use serde_json::json;

use super::queue::{filtered, year_of};
use super::{Case, QueueFilter, Reviewed};
use crate::audit;
use crate::error::AppResult;
use crate::jobs::{self, Input, JobKind, NewJob, Progress};
use crate::{Actor, App};

/// Asks for the queue's rows as an Excel workbook: a job (`jobs`), whose page
/// shows its progress and then the file, `name`.xlsx. Refused at once (403)
/// when the role may not export.
pub async fn request_export<W: Reviewed>(app: &App, actor: &Actor, f: &QueueFilter, name: &str) -> AppResult<i32> {
    W::PERMISSION.require(actor)?;
    let job = NewJob {
        kind: JobKind::ReviewExport,
        title: format!("导出{name}"),
        params: json!({ "workflow": W::KIND, "filter": f, "name": name }),
        input: Input::None,
    };
    jobs::submit(app, actor, job).await
}

/// The most rows one export holds.
pub const EXPORT_MAX: u64 = 100_000;
const EXPORT_CHUNK: u64 = 1000;

/// The queue's rows, all of them (up to `EXPORT_MAX`), as an xlsx workbook:
/// the year, number, name, associations and state, the workflow's columns,
/// and the dates. Read a thousand rows at a time, reporting progress.
/// Audited. Returns the workbook and its number of rows.
pub async fn export<W: Reviewed>(
    app: &App,
    actor: &Actor,
    f: &QueueFilter,
    progress: &Progress<'_>,
) -> AppResult<(Vec<u8>, usize)> {
    W::PERMISSION.require(actor)?;
    let year = year_of::<W>(app, actor, f).await?;
    let (q, _) = filtered::<W>(app, actor, f, year)?;
    let q = q.order_by_asc(row::Column::AssociationId).order_by_asc(row::Column::Number).order_by_asc(row::Column::Id);
    let total = q.clone().count(app.db.conn()).await?.min(EXPORT_MAX);
    // The workbook is the last tenth of the work.
    let steps = total + total / 10 + 1;
    let mut cases: Vec<Case<W>> = Vec::with_capacity(total as usize);
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(total as usize);
    while (cases.len() as u64) < total {
        let chunk: Vec<Case<W>> = q
            .clone()
            .offset(cases.len() as u64)
            .limit(EXPORT_CHUNK.min(total - cases.len() as u64))
            .all(app.db.conn())
            .await?
            .into_iter()
            .map(Case::try_from)
            .collect::<AppResult<_>>()?;
        if chunk.is_empty() {
            break;
        }
        cells.extend(W::cells(app, &chunk).await?);
        cases.extend(chunk);
        progress.set(cases.len() as u64, steps).await?;
    }
    let n = cases.len();
    let orgs = app.orgs().clone();
    let bytes = tokio::task::spawn_blocking(move || workbook::<W>(&orgs, year, &cases, &cells))
        .await
        .map_err(anyhow::Error::from)??;
    progress.set(steps, steps).await?;
    audit::record(
        app,
        &actor.audit_name(),
        &format!("{}_exported", W::KIND),
        W::KIND,
        json!({ "year": year, "rows": n }),
    )
    .await?;
    Ok((bytes, n))
}

/// The export's header row.
pub fn export_header<W: Reviewed>() -> Vec<String> {
    let mut h: Vec<String> = Vec::new();
    if W::YEARLY {
        h.push("年检年度".into());
    }
    h.extend([W::NUMBER.to_owned(), "姓名".into(), "地方注协".into()]);
    if W::BY_CITY {
        h.push("市注协".into());
    }
    h.push("审核状态".into());
    h.extend(W::columns().iter().map(|c| c.to_string()));
    h.extend(["提交时间".into(), "办结时间".into()]);
    h
}

fn workbook<W: Reviewed>(
    orgs: &crate::organisations::Organisations,
    year: Option<i32>,
    cases: &[Case<W>],
    cells: &[Vec<String>],
) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let title = match year {
        Some(y) => format!("{y}年度{}", W::NOUN),
        None => W::NOUN.to_owned(),
    };
    sheet.set_name(title)?;
    let bold = Format::new().set_bold();
    for (c, h) in export_header::<W>().iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &bold)?;
    }
    let when = |t: DateTime<Utc>| t.with_timezone(&crate::clock::cst()).format("%Y-%m-%d %H:%M").to_string();
    let name_of = |id: Option<i32>| id.and_then(|i| orgs.get(i)).map_or_else(String::new, |a| a.name.clone());
    for (i, (case, extra)) in cases.iter().zip(cells).enumerate() {
        let line = (i + 1) as u32;
        let mut col = 0u16;
        let mut text = |s: &str| -> anyhow::Result<()> {
            sheet.write_string(line, col, s)?;
            col += 1;
            Ok(())
        };
        if W::YEARLY {
            // The year is a number in the workbook.
            text("")?;
        }
        text(&case.number)?;
        text(&case.name)?;
        text(&name_of(Some(case.association_id)))?;
        if W::BY_CITY {
            text(&name_of(case.city_association_id))?;
        }
        text(case.state.label())?;
        for c in extra {
            text(c)?;
        }
        text(&when(case.submitted_at))?;
        text(&case.decided_at.map(when).unwrap_or_default())?;
        if W::YEARLY {
            sheet.write_number(line, 0, case.year.unwrap_or_default() as f64)?;
        }
    }
    sheet.set_column_width(1, 16)?;
    sheet.set_column_width(3, 24)?;
    Ok(book.save_to_buffer()?)
}
