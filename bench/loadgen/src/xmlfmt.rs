//! `loadgen xmlfmt --file DOMAIN.xml [--runs N]`: the CPU cost of formatting one domain
//! definition, as `XMLDesc` pays it on every call, apart from any round trip. Prints
//! the median nanoseconds per `to_xml` over several batches.

use std::time::Instant;

use rvirt_xml::domain::DomainDef;

use crate::Opts;

pub fn run(o: &Opts) -> Result<String, String> {
    let path = o.need("file")?;
    let runs: usize = o.num("runs", 20_000)?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("--file: {e}"))?;
    let def = DomainDef::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    let live_id = Some(1);
    let mut bytes = 0;
    for _ in 0..runs / 10 {
        bytes = def.to_xml(live_id).len();
    }
    let mut batches: Vec<f64> = (0..9)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..runs / 9 {
                std::hint::black_box(def.to_xml(std::hint::black_box(live_id)));
            }
            t.elapsed().as_nanos() as f64 / (runs / 9) as f64
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    let t = Instant::now();
    for _ in 0..runs / 9 {
        std::hint::black_box(DomainDef::parse(std::hint::black_box(&text)).ok());
    }
    let parse_ns = t.elapsed().as_nanos() as f64 / (runs / 9) as f64;
    Ok(format!(
        "{{\"format_ns\": {:.0}, \"parse_ns\": {parse_ns:.0}, \"bytes\": {bytes}, \"runs\": {runs}}}",
        batches[4]
    ))
}
