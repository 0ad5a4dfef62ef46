//! Load generator and timing helpers for `bench/run.sh`, built on rvirt's client library.
//!
//! ```text
//! loadgen saturate --uri URI --proc info|list [--secs S] [--configs 1x1,2x16,...]
//! loadgen startup  --uri URI --socket PATH [--runs 5] -- DAEMON ARGS...
//! loadgen time     [--runs 20] [--expect TEXT] -- PROGRAM ARGS...
//! loadgen floor    --listen SOCKET --upstream SOCKET --mode sleep|busy
//! loadgen xmlfmt   --file DOMAIN.xml [--runs N]
//! ```
//! Each prints one JSON object on stdout.

mod floor;
mod xmlfmt;

use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rvirt_core::client::Connect;
use rvirt_protocol::{
    remote_proc, xdr, RemoteClient, RemoteConnectListAllDomainsArgs, RemoteDomainGetInfoArgs,
    RemoteDomainLookupByNameArgs,
};

const USAGE: &str = "usage:
  loadgen saturate --uri URI --proc info|list [--secs S] [--configs CxD,...] [--domain NAME]
  loadgen startup  --uri URI --socket PATH [--runs N] -- DAEMON ARGS...
  loadgen time     [--runs N] [--expect TEXT] -- PROGRAM ARGS...
  loadgen floor    --listen SOCKET --upstream SOCKET --mode sleep|busy
  loadgen xmlfmt   --file DOMAIN.xml [--runs N]";

/// Parsed `--key value` options and the words after `--`.
struct Opts {
    pairs: Vec<(String, String)>,
    rest: Vec<String>,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut pairs = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "--" {
                return Ok(Opts {
                    pairs,
                    rest: args[i + 1..].to_vec(),
                });
            }
            let key = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument '{a}'"))?;
            let val = args
                .get(i + 1)
                .ok_or_else(|| format!("option --{key} needs a value"))?;
            pairs.push((key.to_string(), val.clone()));
            i += 2;
        }
        Ok(Opts {
            pairs,
            rest: Vec::new(),
        })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn need(&self, key: &str) -> Result<&str, String> {
        self.get(key).ok_or_else(|| format!("missing --{key}"))
    }

    fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key}: '{v}' is not a number")),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let res = Opts::parse(&args[1..]).and_then(|o| match cmd.as_str() {
        "saturate" => saturate(&o),
        "startup" => startup(&o),
        "time" => time_cmd(&o),
        "floor" => floor::run(&o),
        "xmlfmt" => xmlfmt::run(&o),
        other => Err(format!("unknown command '{other}'\n{USAGE}")),
    });
    match res {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One call of the measured kind, encoded once and reused.
fn build_call(
    conn: &Connect,
    proc_name: &str,
    domain: &str,
) -> Result<(u32, i32, Vec<u8>), String> {
    match proc_name {
        "info" => {
            let dom = conn
                .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
                    name: domain.to_string(),
                })
                .map_err(|e| format!("lookup {domain}: {e}"))?
                .dom;
            let args = xdr::to_bytes(&RemoteDomainGetInfoArgs { dom });
            Ok((
                rvirt_protocol::REMOTE_PROGRAM_NUMBER,
                remote_proc::DOMAIN_GET_INFO,
                args,
            ))
        }
        "list" => {
            let args = xdr::to_bytes(&RemoteConnectListAllDomainsArgs {
                need_results: 1,
                flags: 0,
            });
            Ok((
                rvirt_protocol::REMOTE_PROGRAM_NUMBER,
                remote_proc::CONNECT_LIST_ALL_DOMAINS,
                args,
            ))
        }
        other => Err(format!("unknown --proc '{other}' (info or list)")),
    }
}

/// Calls per second with `conns` connections, each keeping `depth` calls outstanding
/// (sent as one batch, all replies awaited, repeated).
fn run_config(
    uri: &str,
    proc_name: &str,
    domain: &str,
    conns: usize,
    depth: usize,
    secs: f64,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(conns + 1));
    let mut handles = Vec::new();
    for _ in 0..conns {
        let conn = Connect::open(uri).map_err(|e| format!("open {uri}: {e}"))?;
        let call = build_call(&conn, proc_name, domain)?;
        let batch: Vec<_> = (0..depth).map(|_| call.clone()).collect();
        let (stop, start) = (stop.clone(), start.clone());
        handles.push(std::thread::spawn(move || -> Result<u64, String> {
            // Warm-up batch, outside the measured window.
            conn.pipeline(&batch).map_err(|e| e.to_string())?;
            start.wait();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for r in conn.pipeline(&batch).map_err(|e| e.to_string())? {
                    r.map_err(|e| e.to_string())?;
                }
                n += batch.len() as u64;
            }
            Ok(n)
        }));
    }
    start.wait();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let mut total = 0u64;
    for h in handles {
        total += h.join().map_err(|_| "worker panicked".to_string())??;
    }
    Ok(total as f64 / t0.elapsed().as_secs_f64())
}

fn saturate(o: &Opts) -> Result<String, String> {
    let uri = o.need("uri")?;
    let proc_name = o.need("proc")?;
    let domain = o.get("domain").unwrap_or("test");
    let secs: f64 = o.num("secs", 1.5)?;
    let configs = o.get("configs").unwrap_or("1x1,1x16,2x16,4x32,8x16");
    let mut rows = Vec::new();
    let mut best = (0.0f64, 0usize, 0usize);
    for c in configs.split(',') {
        let (a, b) = c
            .split_once('x')
            .ok_or_else(|| format!("bad config '{c}' (want CONNSxDEPTH)"))?;
        let conns: usize = a.parse().map_err(|_| format!("bad config '{c}'"))?;
        let depth: usize = b.parse().map_err(|_| format!("bad config '{c}'"))?;
        let rate = run_config(uri, proc_name, domain, conns, depth, secs)?;
        eprintln!("  {proc_name}: {conns} conn x depth {depth}: {rate:.0} calls/s");
        rows.push(format!(
            "{{\"conns\":{conns},\"depth\":{depth},\"calls_per_s\":{rate:.1}}}"
        ));
        if rate > best.0 {
            best = (rate, conns, depth);
        }
    }
    Ok(format!(
        "{{\"proc\":\"{proc_name}\",\"best\":{:.1},\"best_conns\":{},\"best_depth\":{},\"runs\":[{}]}}",
        best.0,
        best.1,
        best.2,
        rows.join(",")
    ))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn spawn_quiet(argv: &[String]) -> Result<Child, String> {
    let (prog, args) = argv.split_first().ok_or("no program given after --")?;
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {prog}: {e}"))
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Process start to the first answered RPC (connect + getHostname), median of `runs`.
fn startup(o: &Opts) -> Result<String, String> {
    let uri = o.need("uri")?;
    let socket = PathBuf::from(o.need("socket")?);
    let runs: usize = o.num("runs", 5)?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let _ = std::fs::remove_file(&socket);
        let t0 = Instant::now();
        let mut child = spawn_quiet(&o.rest)?;
        let deadline = t0 + Duration::from_secs(60);
        let result = loop {
            if socket.exists() {
                if let Ok(c) = Connect::open(uri) {
                    if c.hostname().is_ok() {
                        break Ok(t0.elapsed().as_secs_f64() * 1e3);
                    }
                }
            }
            if let Ok(Some(st)) = child.try_wait() {
                break Err(format!("daemon exited early with {st}"));
            }
            if Instant::now() > deadline {
                break Err("daemon did not answer within 60 s".to_string());
            }
            std::thread::sleep(Duration::from_micros(250));
        };
        terminate(&mut child);
        times.push(result?);
    }
    let all: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
    Ok(format!(
        "{{\"median_ms\":{:.2},\"runs_ms\":[{}]}}",
        median(&mut times),
        all.join(",")
    ))
}

/// Wall time of a one-shot command (stdout captured and, with `--expect`, checked to
/// contain that text), median of `runs` after one warm-up run.
fn time_cmd(o: &Opts) -> Result<String, String> {
    let runs: usize = o.num("runs", 20)?;
    let expect = o.get("expect");
    let (prog, args) = o.rest.split_first().ok_or("no program given after --")?;
    let mut times = Vec::new();
    let mut failures = 0;
    for i in 0..=runs {
        let t0 = Instant::now();
        let res = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {prog}: {e}"))?;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let out = String::from_utf8_lossy(&res.stdout);
        if !res.status.success() || expect.is_some_and(|x| !out.contains(x)) {
            if failures == 0 {
                eprintln!(
                    "loadgen: {} gave {} with output {:?}",
                    o.rest.join(" "),
                    res.status,
                    out
                );
            }
            failures += 1;
        }
        if i > 0 {
            times.push(ms);
        }
    }
    if failures > 0 {
        return Err(format!(
            "{} failed {failures} of {} runs",
            o.rest.join(" "),
            runs + 1
        ));
    }
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(format!(
        "{{\"median_ms\":{:.2},\"min_ms\":{min:.2},\"runs\":{runs}}}",
        median(&mut times)
    ))
}
