//! The QEMU guest agent: a client of the `org.qemu.guest_agent.0` virtio channel.
//!
//! QEMU listens on the channel's unix socket; the driver connects once the guest has
//! opened its end of the port (QEMU's `VSERPORT_CHANGE`, [`channel`]). Each command is
//! preceded, until the agent has answered one, by a resynchronisation as libvirt does it:
//! a 0xFF byte (which makes qemu-ga drop any partial input) and `guest-sync-delimited`
//! with a fresh id, whose reply qemu-ga prefixes with 0xFF; everything read before that
//! byte, and every reply with another id, is left-over from an earlier exchange and
//! dropped. One command runs at a time per agent; waiting never holds the driver lock,
//! so an unresponsive guest blocks only the calls that talk to it.

pub mod calls;
pub mod channel;
pub mod guestinfo;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::sdk::{code, domain};
use serde_json::{json, Value};

/// The channel name qemu-ga serves.
pub const CHANNEL_NAME: &str = "org.qemu.guest_agent.0";

/// How long a resynchronisation may take (libvirt's `QEMU_AGENT_WAIT_TIME`).
const SYNC_WAIT: Duration = Duration::from_secs(5);

/// libvirt's agent timeouts (`virDomainAgentResponseTimeoutValues`, also the
/// `qemu-agent-command` timeouts): block, the default (5 s), do not wait.
pub const TIMEOUT_BLOCK: i32 = -2;
pub const TIMEOUT_DEFAULT: i32 = -1;
pub const TIMEOUT_NOWAIT: i32 = 0;

/// Why an agent call failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AgentError {
    #[error("argument unsupported: QEMU guest agent is not configured")]
    NotConfigured,
    #[error("Guest agent is not responding: QEMU guest agent is not connected")]
    NotConnected,
    #[error("Guest agent is not responding: Guest agent not available for now")]
    Timeout,
    #[error("Guest agent is not responding: Guest agent disappeared while executing command")]
    Gone,
    #[error("internal error: unable to execute QEMU agent command '{cmd}': {desc}")]
    Command { cmd: String, desc: String },
    #[error("internal error: {0}")]
    Reply(String),
    #[error("Unable to write to agent: {0}")]
    Io(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl AgentError {
    fn code(&self) -> i32 {
        match self {
            AgentError::NotConfigured => code::ARGUMENT_UNSUPPORTED,
            AgentError::NotConnected | AgentError::Timeout | AgentError::Gone => {
                code::AGENT_UNRESPONSIVE
            }
            AgentError::Command { .. } | AgentError::Reply(_) => code::INTERNAL_ERROR,
            AgentError::Io(_) => code::SYSTEM_ERROR,
            AgentError::Invalid(_) => code::INVALID_ARG,
        }
    }

    /// Whether the agent answered that it lacks the command (libvirt then tries an
    /// older one, or leaves a guest-info group out).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, AgentError::Command { desc, .. } if desc.contains("has not been found")
            || desc.contains("has been disabled"))
    }
}

impl From<AgentError> for RemoteError {
    fn from(e: AgentError) -> RemoteError {
        RemoteError::reported(e.code(), domain::QEMU, e.to_string())
    }
}

/// What the reader thread has collected.
#[derive(Default)]
struct Rx {
    /// Complete lines since the last resynchronisation byte.
    lines: VecDeque<Vec<u8>>,
    /// A partial line.
    partial: Vec<u8>,
    /// A 0xFF arrived since the last sync was sent.
    delimiter: bool,
    closed: bool,
    /// QEMU reported the guest event a reply-less command waits for.
    event: bool,
}

impl Rx {
    /// Takes in bytes from the socket: 0xFF starts over, lines are split at '\n'.
    fn feed(&mut self, data: &[u8]) {
        for &b in data {
            match b {
                0xff => {
                    self.lines.clear();
                    self.partial.clear();
                    self.delimiter = true;
                }
                b'\n' => {
                    let line = std::mem::take(&mut self.partial);
                    if !line.iter().all(u8::is_ascii_whitespace) {
                        self.lines.push_back(line);
                    }
                }
                _ => self.partial.push(b),
            }
        }
    }
}

/// A reply-less command's end: the agent answered, or QEMU reported the event.
enum Wait {
    Reply,
    ReplyOrEvent,
}

/// One connection to a guest agent.
pub struct Agent {
    writer: Mutex<UnixStream>,
    rx: Arc<(Mutex<Rx>, Condvar)>,
    /// One command at a time.
    busy: Mutex<()>,
    in_sync: AtomicBool,
    /// `virDomainAgentSetResponseTimeout`'s value for this run.
    pub timeout: AtomicI32,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Agent")
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Agent {
    /// Connects to the channel socket QEMU listens on and starts the reader thread.
    pub fn connect(path: &Path, timeout: i32) -> Result<Arc<Agent>, AgentError> {
        let stream = UnixStream::connect(path)
            .map_err(|e| AgentError::Io(format!("{}: {e}", path.display())))?;
        let mut reader = stream
            .try_clone()
            .map_err(|e| AgentError::Io(e.to_string()))?;
        let rx = Arc::new((Mutex::new(Rx::default()), Condvar::new()));
        let rx2 = rx.clone();
        std::thread::Builder::new()
            .name("qemu-agent".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    let n = reader.read(&mut buf).unwrap_or(0);
                    let mut g = lock(&rx2.0);
                    if n == 0 {
                        g.closed = true;
                        rx2.1.notify_all();
                        return;
                    }
                    g.feed(&buf[..n]);
                    rx2.1.notify_all();
                }
            })
            .map_err(|e| AgentError::Io(e.to_string()))?;
        Ok(Arc::new(Agent {
            writer: Mutex::new(stream),
            rx,
            busy: Mutex::new(()),
            in_sync: AtomicBool::new(false),
            timeout: AtomicI32::new(timeout),
        }))
    }

    /// Ends the connection; a waiting command fails with [`AgentError::Gone`].
    pub fn close(&self) {
        let _ = lock(&self.writer).shutdown(std::net::Shutdown::Both);
        let mut g = lock(&self.rx.0);
        g.closed = true;
        self.rx.1.notify_all();
    }

    /// QEMU reported a guest shutdown or reset: a `guest-shutdown` waiting for its
    /// (never sent) reply is done.
    pub fn notify_event(&self) {
        let mut g = lock(&self.rx.0);
        g.event = true;
        self.rx.1.notify_all();
    }

    fn write(&self, data: &[u8]) -> Result<(), AgentError> {
        lock(&self.writer).write_all(data).map_err(|e| {
            if lock(&self.rx.0).closed {
                AgentError::Gone
            } else {
                AgentError::Io(e.to_string())
            }
        })
    }

    /// Waits until `pick` finds what it wants in the received lines (taking them), the
    /// connection ends, or `deadline` passes.
    fn wait_for<T>(
        &self,
        deadline: Option<Instant>,
        mut pick: impl FnMut(&mut Rx) -> Option<T>,
    ) -> Result<T, AgentError> {
        let mut g = lock(&self.rx.0);
        loop {
            if let Some(t) = pick(&mut g) {
                return Ok(t);
            }
            if g.closed {
                return Err(AgentError::Gone);
            }
            g = match deadline {
                None => self.rx.1.wait(g).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(AgentError::Timeout);
                    }
                    self.rx
                        .1
                        .wait_timeout(g, d - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// `guest-sync-delimited` with a fresh id; left-overs before its 0xFF are dropped.
    fn sync(&self, wait: Duration) -> Result<(), AgentError> {
        if self.in_sync.load(Ordering::SeqCst) {
            return Ok(());
        }
        let id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        {
            let mut g = lock(&self.rx.0);
            g.lines.clear();
            g.delimiter = false;
        }
        let msg = json!({"execute": "guest-sync-delimited", "arguments": {"id": id}});
        let mut bytes = vec![0xffu8];
        bytes.extend_from_slice(msg.to_string().as_bytes());
        bytes.push(b'\n');
        self.write(&bytes)?;
        self.wait_for(Some(Instant::now() + wait), |rx| {
            if !rx.delimiter {
                return None;
            }
            while let Some(line) = rx.lines.pop_front() {
                let v: Value = serde_json::from_slice(&line).unwrap_or(Value::Null);
                if v.get("return").and_then(Value::as_u64) == Some(id) {
                    return Some(());
                }
            }
            None
        })?;
        self.in_sync.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The deadline for a command given libvirt's timeout value.
    fn deadline(seconds: i32) -> Option<Instant> {
        match seconds {
            TIMEOUT_BLOCK => None,
            TIMEOUT_DEFAULT => Some(Instant::now() + SYNC_WAIT),
            s => Some(Instant::now() + Duration::from_secs(s.max(0) as u64)),
        }
    }

    /// Runs `cmd` (an object with `execute`) and answers the agent's whole reply;
    /// `seconds` as libvirt's (`TIMEOUT_*` or a count of seconds).
    pub fn raw(&self, cmd: &Value, seconds: i32) -> Result<Value, AgentError> {
        self.run(cmd, seconds, Wait::Reply)
    }

    fn run(&self, cmd: &Value, seconds: i32, wait: Wait) -> Result<Value, AgentError> {
        let _one = lock(&self.busy);
        if lock(&self.rx.0).closed {
            return Err(AgentError::Gone);
        }
        let sync_wait = match seconds {
            s if (0..5).contains(&s) => Duration::from_secs(s as u64),
            _ => SYNC_WAIT,
        };
        self.sync(sync_wait).inspect_err(|_| {
            self.in_sync.store(false, Ordering::SeqCst);
        })?;
        lock(&self.rx.0).event = false;
        let mut line = cmd.to_string();
        line.push('\n');
        self.write(line.as_bytes())?;
        let r = self.wait_for(Self::deadline(seconds), |rx| {
            while let Some(l) = rx.lines.pop_front() {
                let v: Value = serde_json::from_slice(&l).unwrap_or(Value::Null);
                if v.get("return").is_some() || v.get("error").is_some() {
                    return Some(v);
                }
            }
            (matches!(wait, Wait::ReplyOrEvent) && rx.event).then_some(Value::Null)
        });
        if r.is_err() {
            self.in_sync.store(false, Ordering::SeqCst);
        }
        r
    }

    /// Runs command `name` with `args`; answers its `return`.
    pub fn execute(&self, name: &str, args: Option<Value>) -> Result<Value, AgentError> {
        let seconds = self.timeout.load(Ordering::SeqCst);
        let reply = self.run(&command(name, args), seconds, Wait::Reply)?;
        check_reply(name, reply)
    }

    /// Runs a command the guest may not answer (`guest-shutdown`): it is done once the
    /// agent replies or QEMU reports the guest's shutdown or reset.
    pub fn execute_awaiting_event(
        &self,
        name: &str,
        args: Option<Value>,
    ) -> Result<(), AgentError> {
        let seconds = self.timeout.load(Ordering::SeqCst);
        match self.run(&command(name, args), seconds, Wait::ReplyOrEvent) {
            Ok(Value::Null) | Err(AgentError::Gone) => Ok(()),
            Ok(reply) => check_reply(name, reply).map(|_| ()),
            Err(e) => Err(e),
        }
    }
}

fn command(name: &str, args: Option<Value>) -> Value {
    let mut v = json!({ "execute": name });
    if let Some(a) = args {
        v["arguments"] = a;
    }
    v
}

/// libvirt's wording of an agent error class without a description.
fn class_text(class: &str) -> String {
    match class {
        "BufferOverrun" => "Buffer overrun",
        "CommandDisabled" => "The command has been disabled for this instance",
        "CommandNotFound" => "The command has not been found",
        "FdNotFound" => "File descriptor not found",
        "InvalidParameter" => "Invalid parameter",
        "InvalidParameterType" => "Invalid parameter type",
        "InvalidParameterValue" => "Invalid parameter value",
        "OpenFileFailed" => "Cannot open file",
        "QgaCommandFailed" => "Guest agent command failed",
        "QMPBadInputObjectMember" => "Bad QMP input object member",
        "QMPExtraInputObjectMember" => "Unexpected extra object member",
        "UndefinedError" => "An undefined error has occurred",
        "Unsupported" => "this feature or command is not currently supported",
        "" => "unknown QEMU command error",
        other => other,
    }
    .to_string()
}

/// The `return` of a reply, or its error.
pub fn check_reply(name: &str, reply: Value) -> Result<Value, AgentError> {
    if let Some(err) = reply.get("error") {
        let desc = match err.get("desc").and_then(Value::as_str) {
            Some(d) => d.to_string(),
            None => class_text(err.get("class").and_then(Value::as_str).unwrap_or("")),
        };
        // qemu-ga's own wording for an unknown command names the class, as libvirt.
        let desc = match err.get("class").and_then(Value::as_str) {
            Some(c @ ("CommandNotFound" | "CommandDisabled")) if !desc.contains(' ') => {
                class_text(c)
            }
            _ => desc,
        };
        return Err(AgentError::Command {
            cmd: name.to_string(),
            desc,
        });
    }
    match reply.get("return") {
        Some(r) => Ok(r.clone()),
        None => Err(AgentError::Reply(format!(
            "unable to execute QEMU agent command '{name}'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resync_byte_drops_what_came_before() {
        let mut rx = Rx::default();
        rx.feed(b"{\"return\": 1}\n{\"ret");
        rx.feed(b"\xff{\"return\": 7}\n\n");
        assert!(rx.delimiter);
        assert_eq!(rx.lines.len(), 1);
        assert_eq!(rx.lines[0], b"{\"return\": 7}");
    }

    #[test]
    fn errors_as_libvirt_words_them() {
        let e = check_reply(
            "guest-fsfreeze-freeze",
            json!({"error": {"class": "GenericError", "desc": "hook failed"}}),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "internal error: unable to execute QEMU agent command 'guest-fsfreeze-freeze': hook failed"
        );
        let e = check_reply("x", json!({"error": {"class": "CommandNotFound"}})).unwrap_err();
        assert!(e.is_unsupported(), "{e}");
        assert_eq!(check_reply("x", json!({"return": {}})), Ok(json!({})));
        let r: RemoteError = AgentError::NotConnected.into();
        assert_eq!(r.code, code::AGENT_UNRESPONSIVE);
    }

    /// A fake agent on a socket pair: answers the sync after junk, then the command.
    #[test]
    fn sync_then_command_over_a_socket() {
        let dir = std::env::temp_dir().join(format!("rvirt-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ga.sock");
        let _ = std::fs::remove_file(&path);
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let guest = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut r = std::io::BufReader::new(s.try_clone().unwrap());
            let mut line = Vec::new();
            std::io::BufRead::read_until(&mut r, b'\n', &mut line).unwrap();
            assert_eq!(line[0], 0xff);
            let v: Value = serde_json::from_slice(&line[1..]).unwrap();
            let id = v["arguments"]["id"].as_u64().unwrap();
            s.write_all(b"{\"return\": 99}\n").unwrap();
            let mut synced = vec![0xffu8];
            synced.extend_from_slice(format!("{{\"return\": {id}}}\n").as_bytes());
            s.write_all(&synced).unwrap();
            line.clear();
            std::io::BufRead::read_until(&mut r, b'\n', &mut line).unwrap();
            s.write_all(b"{\"return\": {\"host-name\": \"g\"}}\n")
                .unwrap();
        });
        let a = Agent::connect(&path, TIMEOUT_DEFAULT).unwrap();
        let r = a.execute("guest-get-host-name", None).unwrap();
        assert_eq!(r["host-name"], "g");
        guest.join().unwrap();
        let t = Instant::now();
        while !lock(&a.rx.0).closed && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // The guest is gone: the next command fails without waiting for the timeout.
        assert_eq!(a.execute("guest-ping", None), Err(AgentError::Gone));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
