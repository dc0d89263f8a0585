//! Subscribers as CSV, for moving them in from another status page and out again.
//! Import reads `email` and optionally `components` (component names separated by `;`;
//! empty: everything), with or without a header row; export writes every column an
//! admin may want, with the same two first.

use uuid::Uuid;

use super::model::EmailSubscriberRow;

/// Rows one import may hold.
pub const MAX_ROWS: usize = 50_000;

/// A line to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// 1-based, as a spreadsheet shows it.
    pub line: usize,
    pub email: String,
    pub component_ids: Vec<Uuid>,
}

/// Why a line cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// Read the CSV; components are named as `components` lists them (case-insensitive).
pub fn read(bytes: &[u8], components: &[(Uuid, String)]) -> Result<Vec<ImportRow>, Vec<Problem>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(index + 1, |p| line_at(bytes, p.byte()));
                problems.push(Problem {
                    line,
                    message: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        // Blank lines are skipped by the reader, so the record's own position says where
        // it is.
        let line = record
            .position()
            .map_or(index + 1, |p| line_at(bytes, p.byte()));
        let email = record.get(0).unwrap_or_default();
        if line == 1 && email.eq_ignore_ascii_case("email") {
            continue;
        }
        if email.is_empty() && record.iter().all(str::is_empty) {
            continue;
        }
        let mut component_ids = Vec::new();
        for name in record
            .get(1)
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            match components
                .iter()
                .find(|(_, known)| known.eq_ignore_ascii_case(name))
            {
                Some((id, _)) => component_ids.push(*id),
                None => problems.push(Problem {
                    line,
                    message: format!("there is no component called {name:?}"),
                }),
            }
        }
        rows.push(ImportRow {
            line,
            email: email.to_owned(),
            component_ids,
        });
        if rows.len() > MAX_ROWS {
            problems.push(Problem {
                line,
                message: format!("an import holds at most {MAX_ROWS} addresses"),
            });
            break;
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// The 1-based line of the record the reader says starts at byte `offset` (its offset
/// may lie before the blank lines it skipped).
fn line_at(bytes: &[u8], offset: u64) -> usize {
    let mut start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
        start += 1;
    }
    bytes[..start].iter().filter(|b| **b == b'\n').count() + 1
}

fn time(at: Option<time::OffsetDateTime>) -> String {
    at.map(crate::platform::time::rfc3339).unwrap_or_default()
}

/// Every subscriber as CSV, with a header row.
pub fn write(
    rows: &[EmailSubscriberRow],
    components: &[(Uuid, String)],
) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "email",
        "components",
        "state",
        "source",
        "created_at",
        "confirmed_at",
        "bounced_at",
        "bounce_reason",
    ])?;
    for row in rows {
        let names: Vec<&str> = row
            .component_ids
            .iter()
            .filter_map(|id| components.iter().find(|(c, _)| c == id))
            .map(|(_, name)| name.as_str())
            .collect();
        writer.write_record([
            row.email.as_str(),
            &names.join(";"),
            row.state.as_str(),
            &row.source,
            &crate::platform::time::rfc3339(row.created_at),
            &time(row.confirmed_at),
            &time(row.bounced_at),
            row.bounce_reason.as_deref().unwrap_or_default(),
        ])?;
    }
    Ok(writer.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_read_addresses_and_component_names_with_or_without_a_header() {
        let api = Uuid::new_v4();
        let web = Uuid::new_v4();
        let known = [(api, "API".to_owned()), (web, "Web app".to_owned())];
        let rows = read(
            b"email,components\nada@example.com,api; web app\n\n\"bob@example.com\",\n",
            &known,
        )
        .expect("valid");
        assert_eq!(
            rows,
            vec![
                ImportRow {
                    line: 2,
                    email: "ada@example.com".into(),
                    component_ids: vec![api, web]
                },
                ImportRow {
                    line: 4,
                    email: "bob@example.com".into(),
                    component_ids: vec![]
                },
            ]
        );
        let problems = read(b"cy@example.com,Billing\n", &known).expect_err("unknown");
        assert_eq!(problems[0].line, 1);
        assert!(problems[0].message.contains("Billing"));
    }
}
