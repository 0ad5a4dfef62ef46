//! Reading a `qemu-argv` native config (what `virsh domxml-to-native qemu-argv` prints):
//! its words, and the identity of each `-device` (driver, id, bus, addr), in the legacy
//! `driver,key=value` form as in the JSON form.

/// The words of a shell command line as libvirt writes it: single and double quotes,
/// backslash escapes, and backslash-newline continuations.
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                for q in it.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                while let Some(q) = it.next() {
                    match q {
                        '"' => break,
                        '\\' => w.extend(it.next()),
                        _ => w.push(q),
                    }
                }
            }
            '\\' => match it.next() {
                Some('\n') | None => {}
                Some(x) => cur.get_or_insert_with(String::new).push(x),
            },
            c if c.is_whitespace() => out.extend(cur.take()),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(cur);
    out
}

/// `driver id=.. bus=.. addr=..` of every `-device` of `argv`, in order.
pub fn devices(argv: &str) -> Vec<String> {
    let w = words(argv);
    w.windows(2)
        .filter(|p| p[0] == "-device")
        .map(|p| identity(&p[1]))
        .collect()
}

const KEYS: [&str; 4] = ["driver", "id", "bus", "addr"];

fn identity(spec: &str) -> String {
    let vals: Vec<String> = if spec.starts_with('{') {
        KEYS.iter().map(|k| json_value(spec, k)).collect()
    } else {
        let mut parts = spec.split(',');
        let driver = parts.next().unwrap_or("").to_string();
        let props: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let get = |k: &str| {
            props
                .iter()
                .find(|(n, _)| *n == k)
                .map_or(String::new(), |(_, v)| v.to_string())
        };
        vec![driver, get("id"), get("bus"), get("addr")]
    };
    let mut s = vals[0].clone();
    for (k, v) in KEYS.iter().zip(&vals).skip(1) {
        if !v.is_empty() {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s
}

/// The value of top-level key `key` of a flat JSON object, as text ("" when absent).
fn json_value(obj: &str, key: &str) -> String {
    let pat = format!("\"{key}\":");
    let Some(at) = obj.find(&pat) else {
        return String::new();
    };
    let rest = obj[at + pat.len()..].trim_start();
    if let Some(r) = rest.strip_prefix('"') {
        return r.split('"').next().unwrap_or("").to_string();
    }
    rest.split([',', '}'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_device_forms() {
        let argv = "LC_ALL=C /usr/bin/qemu-system-x86_64 \\\n-device '{\"driver\":\"virtio-blk-pci\",\"bus\":\"pci.0\",\"addr\":\"0x4\",\"id\":\"virtio-disk0\",\"bootindex\":1}' \\\n-device piix3-usb-uhci,id=usb,bus=pci.0,addr=0x1.0x2 -name 'guest=a b'";
        assert_eq!(
            devices(argv),
            [
                "virtio-blk-pci id=virtio-disk0 bus=pci.0 addr=0x4",
                "piix3-usb-uhci id=usb bus=pci.0 addr=0x1.0x2"
            ]
        );
        assert_eq!(words(argv).last().unwrap(), "guest=a b");
    }
}
