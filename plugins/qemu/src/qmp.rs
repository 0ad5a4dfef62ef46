//! A small QMP client: one Unix socket, a reader thread that routes replies by id and hands
//! events to a callback, synchronous commands with a timeout.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a command may take before the caller gives up.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// What can go wrong talking to QEMU.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QmpError {
    #[error("failed to connect to monitor socket: {0}")]
    Connect(String),
    #[error("monitor socket error: {0}")]
    Io(String),
    #[error("monitor connection closed (QEMU exited)")]
    Closed,
    #[error("timed out waiting for the reply to '{0}'")]
    Timeout(String),
    #[error("unable to execute QEMU command '{cmd}': {desc}")]
    Command {
        cmd: String,
        class: String,
        desc: String,
    },
    #[error("cannot parse monitor message: {0}")]
    Parse(String),
}

/// A message QEMU sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Greeting(Value),
    Reply {
        id: String,
        body: Value,
    },
    Event {
        name: String,
        data: Value,
        /// QEMU's timestamp: seconds and microseconds.
        timestamp: (i64, u32),
    },
    Other(Value),
}

/// Classifies one line from the monitor.
pub fn parse_message(line: &str) -> Result<Message, QmpError> {
    let v: Value = serde_json::from_str(line).map_err(|e| QmpError::Parse(e.to_string()))?;
    if v.get("QMP").is_some() {
        return Ok(Message::Greeting(v));
    }
    if let Some(name) = v.get("event").and_then(Value::as_str) {
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        let ts = v.get("timestamp");
        let field = |k: &str| {
            ts.and_then(|t| t.get(k))
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        return Ok(Message::Event {
            name: name.to_string(),
            data,
            timestamp: (field("seconds"), field("microseconds") as u32),
        });
    }
    if let Some(id) = v.get("id").and_then(Value::as_str) {
        return Ok(Message::Reply {
            id: id.to_string(),
            body: v.clone(),
        });
    }
    Ok(Message::Other(v))
}

/// The `return` of a reply, or its error as [`QmpError::Command`].
pub fn reply_result(cmd: &str, body: &Value) -> Result<Value, QmpError> {
    if let Some(r) = body.get("return") {
        return Ok(r.clone());
    }
    let err = body.get("error").cloned().unwrap_or(Value::Null);
    let text = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Err(QmpError::Command {
        cmd: cmd.to_string(),
        class: text("class"),
        desc: text("desc"),
    })
}

/// What the reader thread reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Event {
        name: String,
        data: Value,
        timestamp: (i64, u32),
    },
    Closed,
}

pub type EventFn = Box<dyn Fn(Notice) + Send + 'static>;

#[derive(Default)]
struct Pending {
    waiters: HashMap<String, Sender<Result<Value, QmpError>>>,
    closed: bool,
}

/// One monitor connection.
pub struct Qmp {
    writer: Mutex<UnixStream>,
    pending: Arc<Mutex<Pending>>,
    next_id: AtomicU64,
    /// `query-stats-schemas`, once asked: a running QEMU's schemas do not change.
    stats_schemas: std::sync::OnceLock<Value>,
}

impl std::fmt::Debug for Qmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Qmp")
    }
}

fn io(e: std::io::Error) -> QmpError {
    QmpError::Io(e.to_string())
}

/// Connects to `path`, retrying until `timeout` while `alive()` holds.
fn connect_retry(
    path: &Path,
    timeout: Duration,
    alive: &dyn Fn() -> bool,
) -> Result<UnixStream, QmpError> {
    let deadline = Instant::now() + timeout;
    loop {
        match UnixStream::connect(path) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline || !alive() => {
                return Err(QmpError::Connect(format!("{}: {e}", path.display())))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn read_line(r: &mut impl BufRead) -> Result<String, QmpError> {
    let mut line = String::new();
    if r.read_line(&mut line).map_err(io)? == 0 {
        return Err(QmpError::Closed);
    }
    Ok(line)
}

impl Qmp {
    /// `query-stats-schemas`, asked of QEMU the first time only.
    pub fn stats_schemas(&self) -> Result<&Value, QmpError> {
        if let Some(v) = self.stats_schemas.get() {
            return Ok(v);
        }
        let v = self.execute("query-stats-schemas", None)?;
        Ok(self.stats_schemas.get_or_init(|| v))
    }

    /// Connects, performs the capabilities handshake and starts the reader thread.
    pub fn connect(
        path: &Path,
        timeout: Duration,
        alive: &dyn Fn() -> bool,
        on_event: EventFn,
    ) -> Result<Arc<Qmp>, QmpError> {
        let stream = connect_retry(path, timeout, alive)?;
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        let mut reader = BufReader::new(stream.try_clone().map_err(io)?);
        let mut writer = stream;
        match parse_message(&read_line(&mut reader)?)? {
            Message::Greeting(_) => {}
            other => {
                return Err(QmpError::Parse(format!(
                    "expected the QMP greeting, got {other:?}"
                )))
            }
        }
        writer
            .write_all(b"{\"execute\":\"qmp_capabilities\",\"id\":\"rvirt-0\"}\n")
            .map_err(io)?;
        loop {
            match parse_message(&read_line(&mut reader)?)? {
                Message::Reply { body, .. } => {
                    reply_result("qmp_capabilities", &body)?;
                    break;
                }
                Message::Event {
                    name,
                    data,
                    timestamp,
                } => on_event(Notice::Event {
                    name,
                    data,
                    timestamp,
                }),
                _ => {}
            }
        }
        reader.get_ref().set_read_timeout(None).map_err(io)?;
        let pending = Arc::new(Mutex::new(Pending::default()));
        let p2 = pending.clone();
        std::thread::Builder::new()
            .name("qmp-reader".into())
            .spawn(move || reader_loop(reader, p2, on_event))
            .map_err(io)?;
        Ok(Arc::new(Qmp {
            writer: Mutex::new(writer),
            pending,
            next_id: AtomicU64::new(1),
            stats_schemas: std::sync::OnceLock::new(),
        }))
    }

    /// Sends `msg` (an object) with a fresh id and waits for its reply.
    fn send(&self, cmd: &str, msg: Value) -> Result<Value, QmpError> {
        self.send_with(cmd, msg, None)
    }

    /// Like [`Qmp::send`], passing descriptor `fd` along with the message (`getfd`).
    fn send_with(
        &self,
        cmd: &str,
        mut msg: Value,
        fd: Option<std::os::fd::RawFd>,
    ) -> Result<Value, QmpError> {
        let id = format!("rvirt-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        msg["id"] = Value::String(id.clone());
        let (tx, rx) = channel();
        {
            let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if p.closed {
                return Err(QmpError::Closed);
            }
            p.waiters.insert(id.clone(), tx);
        }
        let mut line = msg.to_string();
        line.push('\n');
        let written = {
            let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            match fd {
                Some(fd) => write_with_fd(&mut w, line.as_bytes(), fd),
                None => w.write_all(line.as_bytes()),
            }
        };
        if let Err(e) = written {
            self.pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .waiters
                .remove(&id);
            return Err(io(e));
        }
        match rx.recv_timeout(COMMAND_TIMEOUT) {
            Ok(r) => r,
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .waiters
                    .remove(&id);
                Err(QmpError::Timeout(cmd.to_string()))
            }
        }
    }

    /// Runs `cmd` with optional arguments; returns its `return` value.
    pub fn execute(&self, cmd: &str, args: Option<Value>) -> Result<Value, QmpError> {
        let mut msg = json!({ "execute": cmd });
        if let Some(a) = args {
            msg["arguments"] = a;
        }
        let body = self.send(cmd, msg)?;
        reply_result(cmd, &body)
    }

    /// Runs `cmd` with descriptor `fd` passed along (SCM_RIGHTS), as `getfd` needs.
    pub fn execute_with_fd(
        &self,
        cmd: &str,
        args: Value,
        fd: std::os::fd::RawFd,
    ) -> Result<Value, QmpError> {
        let msg = json!({ "execute": cmd, "arguments": args });
        let body = self.send_with(cmd, msg, Some(fd))?;
        reply_result(cmd, &body)
    }

    /// Passes a client's JSON command through; returns QEMU's whole reply as text.
    pub fn passthrough(&self, text: &str) -> Result<String, QmpError> {
        let msg: Value = serde_json::from_str(text).map_err(|e| QmpError::Parse(e.to_string()))?;
        let cmd = msg
            .get("execute")
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(cmd) = cmd.filter(|_| msg.is_object()) else {
            return Err(QmpError::Parse(
                "the command must be a JSON object with an 'execute' member".into(),
            ));
        };
        if cmd == "qmp_capabilities" {
            return Err(QmpError::Parse(
                "'qmp_capabilities' is managed by the driver".into(),
            ));
        }
        self.send(&cmd, msg).map(|v| v.to_string())
    }

    /// Runs an HMP command through `human-monitor-command`; returns its output.
    pub fn hmp(&self, line: &str) -> Result<String, QmpError> {
        let r = self.execute(
            "human-monitor-command",
            Some(json!({ "command-line": line })),
        )?;
        Ok(r.as_str().unwrap_or("").to_string())
    }

    /// Waits up to `timeout` until the reader has seen the connection end, every event
    /// before it delivered; whether it has.
    pub fn wait_closed(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .closed
            {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Closes the connection; the reader thread ends.
    pub fn close(&self) {
        let w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = w.shutdown(std::net::Shutdown::Both);
    }
}

/// Writes `bytes` with `fd` attached to the first part sent.
fn write_with_fd(w: &mut UnixStream, bytes: &[u8], fd: std::os::fd::RawFd) -> std::io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    use std::os::fd::AsRawFd;
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [std::io::IoSlice::new(bytes)];
    let sent = sendmsg::<()>(w.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(std::io::Error::from)?;
    w.write_all(&bytes[sent..])
}

fn reader_loop(mut reader: BufReader<UnixStream>, pending: Arc<Mutex<Pending>>, on_event: EventFn) {
    while let Ok(line) = read_line(&mut reader) {
        match parse_message(&line) {
            Ok(Message::Reply { id, body }) => {
                let tx = pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .waiters
                    .remove(&id);
                if let Some(tx) = tx {
                    let _ = tx.send(Ok(body));
                }
            }
            Ok(Message::Event {
                name,
                data,
                timestamp,
            }) => on_event(Notice::Event {
                name,
                data,
                timestamp,
            }),
            Ok(_) => {}
            Err(e) => tracing::debug!("ignoring monitor line: {e}"),
        }
    }
    let waiters = {
        let mut p = pending.lock().unwrap_or_else(PoisonError::into_inner);
        p.closed = true;
        std::mem::take(&mut p.waiters)
    };
    for (_, tx) in waiters {
        let _ = tx.send(Err(QmpError::Closed));
    }
    on_event(Notice::Closed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn classifies_messages() {
        let g = r#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}"#;
        assert!(matches!(parse_message(g).unwrap(), Message::Greeting(_)));
        let e = r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}"#;
        assert_eq!(
            parse_message(e).unwrap(),
            Message::Event {
                name: "STOP".into(),
                data: Value::Null,
                timestamp: (1, 2),
            }
        );
        let r = r#"{"return": {"status": "running"}, "id": "rvirt-3"}"#;
        let Message::Reply { id, body } = parse_message(r).unwrap() else {
            panic!()
        };
        assert_eq!(id, "rvirt-3");
        assert_eq!(reply_result("x", &body).unwrap()["status"], "running");
        let err = r#"{"id": "rvirt-4", "error": {"class": "CommandNotFound", "desc": "The command foo has not been found"}}"#;
        let Message::Reply { body, .. } = parse_message(err).unwrap() else {
            panic!()
        };
        assert_eq!(
            reply_result("foo", &body).unwrap_err().to_string(),
            "unable to execute QEMU command 'foo': The command foo has not been found"
        );
        assert!(parse_message("not json").is_err());
    }

    /// A fake QEMU monitor: greeting, capabilities, one event, echo replies.
    #[test]
    fn talks_to_a_fake_monitor() {
        let dir = std::env::temp_dir().join(format!("rvirt-qmp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.sock");
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut w = s;
            w.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                .unwrap();
            let mut line = String::new();
            while r.read_line(&mut line).unwrap() > 0 {
                let v: Value = serde_json::from_str(&line).unwrap();
                let id = v["id"].clone();
                if v["execute"] == "qmp_capabilities" {
                    w.write_all(b"{\"event\": \"RESUME\", \"timestamp\": {}}\n")
                        .ok();
                }
                let reply = json!({"return": {"echo": v["execute"]}, "id": id});
                w.write_all(format!("{reply}\n").as_bytes()).unwrap();
                line.clear();
            }
        });
        let (tx, rx) = channel();
        let tx = Mutex::new(tx);
        let q = Qmp::connect(
            &path,
            Duration::from_secs(5),
            &|| true,
            Box::new(move |n| {
                let _ = tx.lock().unwrap().send(n);
            }),
        )
        .unwrap();
        assert_eq!(
            q.execute("query-status", None).unwrap()["echo"],
            "query-status"
        );
        let raw = q.passthrough(r#"{"execute":"query-kvm"}"#).unwrap();
        assert!(raw.contains("\"echo\":\"query-kvm\""), "{raw}");
        assert!(q.passthrough("[1]").is_err());
        assert_eq!(
            rx.recv().unwrap(),
            Notice::Event {
                name: "RESUME".into(),
                data: Value::Null,
                timestamp: (0, 0),
            }
        );
        q.close();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Notice::Closed
        );
        assert_eq!(q.execute("x", None), Err(QmpError::Closed));
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
