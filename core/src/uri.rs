//! libvirt connection URIs: `driver[+transport]://[user@][host][:port]/path[?query]`.

/// Why a URI could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("URI has no scheme")]
    NoScheme,
    #[error("URI port is not a number")]
    BadPort,
}

/// A parsed connection URI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uri {
    /// The driver part of the scheme (`test` in `test+unix`).
    pub driver: String,
    /// The transport part (`unix` in `test+unix`), if any.
    pub transport: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: String,
    pub query: Vec<(String, String)>,
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Uri {
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let (scheme, rest) = text.split_once(':').ok_or(UriError::NoScheme)?;
        if scheme.is_empty() {
            return Err(UriError::NoScheme);
        }
        let (driver, transport) = match scheme.split_once('+') {
            Some((d, t)) => (d.to_string(), Some(t.to_string())),
            None => (scheme.to_string(), None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, q),
            None => (rest, ""),
        };
        let mut uri = Uri {
            driver,
            transport,
            ..Uri::default()
        };
        let rest = match rest.strip_prefix("//") {
            Some(after) => {
                let (authority, path) = match after.find('/') {
                    Some(i) => (&after[..i], &after[i..]),
                    None => (after, ""),
                };
                let (user, hostport) = match authority.rsplit_once('@') {
                    Some((u, h)) => (Some(unescape(u)), h),
                    None => (None, authority),
                };
                uri.user = user;
                let (host, port) = match hostport.rsplit_once(':') {
                    Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
                        (h, Some(p.parse::<u16>().map_err(|_| UriError::BadPort)?))
                    }
                    _ => (hostport, None),
                };
                uri.host = (!host.is_empty()).then(|| host.to_string());
                uri.port = port;
                path
            }
            None => rest,
        };
        uri.path = unescape(rest);
        uri.query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (unescape(k), unescape(v)),
                None => (unescape(p), String::new()),
            })
            .collect();
        Ok(uri)
    }

    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The URI the server side sees: transport and the client-only query parameters
    /// (`socket`, `mode`, `no_verify`, ...) removed, as libvirt's remote driver sends it.
    pub fn server_uri(&self) -> String {
        const CLIENT_ONLY: &[&str] = &[
            "socket",
            "mode",
            "no_verify",
            "no_tty",
            "name",
            "command",
            "netcat",
            "keyfile",
            "pkipath",
            "proxy",
            "known_hosts",
            "sshauth",
            "tls_priority",
        ];
        let mut s = format!("{}://", self.driver);
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        if let Some(h) = &self.host {
            s.push_str(h);
        }
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s.push_str(&self.path);
        let rest: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| !CLIENT_ONLY.contains(&k.as_str()))
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        if !rest.is_empty() {
            s.push('?');
            s.push_str(&rest.join("&"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libvirt_forms() {
        let u = Uri::parse("test+unix:///default?socket=/run/x/rvirt-sock").unwrap();
        assert_eq!(u.driver, "test");
        assert_eq!(u.transport.as_deref(), Some("unix"));
        assert_eq!(u.path, "/default");
        assert_eq!(u.query_value("socket"), Some("/run/x/rvirt-sock"));
        assert_eq!(u.server_uri(), "test:///default");
        let q = Uri::parse("qemu+ssh://root@host:2222/system?keyfile=k&x=1").unwrap();
        assert_eq!(
            (q.user.as_deref(), q.host.as_deref(), q.port),
            (Some("root"), Some("host"), Some(2222))
        );
        assert_eq!(q.server_uri(), "qemu://root@host:2222/system?x=1");
        assert_eq!(
            Uri::parse("test:///tmp/a%20b.xml").unwrap().path,
            "/tmp/a b.xml"
        );
        assert!(Uri::parse("nocolon").is_err());
    }
}
