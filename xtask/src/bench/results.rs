//! The results of a run: the table and the reload sentence printed, then written as
//! `loadtest/results/<stem>.md` with the chart `<stem>.png` beside it (`--quick`: under
//! `loadtest/results/tmp/`, overwritten; otherwise a later run of the day never overwrites one).

use std::{
    fs,
    path::{Path, PathBuf},
};

use super::{
    chart,
    document::results_document,
    options::BenchOptions,
    reload::{ReloadOutcome, reload_sentence},
    report::{self, Peer, Row},
    tools::Tools,
};
use crate::workspace_root;

/// Prints the table and writes the results file; returns its path and the chart's (or why there
/// is none).
pub fn write_results(
    options: &BenchOptions,
    tools: &Tools,
    rows: &[Row],
    reload: &ReloadOutcome,
) -> anyhow::Result<(PathBuf, anyhow::Result<PathBuf>)> {
    let table = report::table(rows);
    println!("\n{table}");
    println!("{}", reload_sentence(reload, options.connections));

    let results = if options.quick {
        workspace_root().join("loadtest/results/tmp")
    } else {
        workspace_root().join("loadtest/results")
    };
    fs::create_dir_all(&results)?;
    let date = today()?;
    let mut stem = results_stem(&date, options);
    if !options.quick {
        stem = unused_stem(&results, &stem);
    }
    let markdown = results.join(format!("{stem}.md"));
    let png = results.join(format!("{stem}.png"));
    let peer_names: Vec<&str> = report::peers_present(rows)
        .into_iter()
        .map(Peer::name)
        .collect();
    let chart = chart::draw(
        rows,
        &format!(
            "gateway vs {}, {date}: {} worker(s), {} connections",
            peer_names.join(", "),
            options.workers,
            options.connections
        ),
        &png,
    )
    .map(|()| png.clone());
    let tls_groups: Vec<&str> = ["https", "h2"]
        .into_iter()
        .filter(|group| rows.iter().any(|row| row.group == *group))
        .collect();
    let document = results_document(
        &date,
        options,
        tools,
        &tls_groups,
        &table,
        reload,
        chart.is_ok().then(|| format!("{stem}.png")),
    );
    fs::write(&markdown, document)?;
    Ok((markdown, chart))
}

/// `<date>`, plus `-<n>-workers` unless one worker (so runs at other worker counts keep the
/// day's standard result), plus `-quick`.
fn results_stem(date: &str, options: &BenchOptions) -> String {
    let mut stem = date.to_owned();
    if options.workers != 1 {
        stem.push_str(&format!("-{}-workers", options.workers));
    }
    if options.quick {
        stem.push_str("-quick");
    }
    stem
}

/// `stem`, or `stem-run2`, `stem-run3`, ... when an earlier run of the day already wrote
/// `stem.md` in `dir`: a result that is kept in the repository is never overwritten.
fn unused_stem(dir: &Path, stem: &str) -> String {
    (1..)
        .map(|run| match run {
            1 => stem.to_owned(),
            run => format!("{stem}-run{run}"),
        })
        .find(|candidate| !dir.join(format!("{candidate}.md")).exists())
        .expect("BUG: an unbounded range always finds a free name")
}

/// Today's date, `YYYY-MM-DD` (UTC).
fn today() -> anyhow::Result<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Ok(time::OffsetDateTime::now_utc().date().format(&format)?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn results_of_other_worker_counts_keep_their_own_file() {
        let options = BenchOptions {
            workers: 1,
            rounds: 3,
            duration: Duration::from_secs(10),
            connections: 50,
            quick: false,
            no_build: true,
            no_blog: false,
            no_tls: false,
        };
        assert_eq!(results_stem("2026-11-24", &options), "2026-11-24");
        let two = BenchOptions {
            workers: 2,
            quick: true,
            ..options
        };
        assert_eq!(
            results_stem("2026-11-24", &two),
            "2026-11-24-2-workers-quick"
        );
    }

    #[test]
    fn a_second_run_of_the_day_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unused_stem(dir.path(), "2026-11-25"), "2026-11-25");
        fs::write(dir.path().join("2026-11-25.md"), "first").unwrap();
        assert_eq!(unused_stem(dir.path(), "2026-11-25"), "2026-11-25-run2");
        fs::write(dir.path().join("2026-11-25-run2.md"), "second").unwrap();
        assert_eq!(unused_stem(dir.path(), "2026-11-25"), "2026-11-25-run3");
    }
}
