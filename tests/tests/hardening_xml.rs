//! rvirtd with hostile XML: documents with very many attributes define in linear time
//! while other clients keep being answered, oversized elements are refused at once, and the
//! test driver refuses the names and values libvirt refuses, with libvirt's codes and texts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rvirt_core::protocol::error::code;
use rvirt_core::Connect;
use rvirt_tests::Daemon;

/// `VIR_FROM_DOMAIN`: where libvirt reports domain parse errors.
const FROM_DOMAIN: i32 = 20;

/// Attributes per element in the wide documents: the most the parser takes on one element.
const PER_ELEMENT: usize = 1000;

fn domain_xml(name: &str, memory: &str, vcpu: &str) -> String {
    format!(
        "<domain type='test'><name>{name}</name><memory>{memory}</memory>\
         <vcpu>{vcpu}</vcpu><os><type>hvm</type></os></domain>"
    )
}

/// A domain whose `<metadata>` holds `attrs` attributes, [`PER_ELEMENT`] to an element;
/// its UUID is fixed so that defining it again updates it.
fn wide_domain(name: &str, attrs: usize) -> String {
    let mut s = format!(
        "<domain type='test'><name>{name}</name><uuid>00000000-0000-4000-8000-{attrs:012}</uuid>\
         <memory>131072</memory><os><type>hvm</type></os>\
         <metadata><app:data xmlns:app='urn:rvirt:hardening'>"
    );
    for e in 0..attrs.div_ceil(PER_ELEMENT) {
        s.push_str("<app:e");
        for a in 0..PER_ELEMENT.min(attrs - e * PER_ELEMENT) {
            s.push_str(&format!(" a{a}='{e}'"));
        }
        s.push_str("/>");
    }
    s.push_str("</app:data></metadata></domain>");
    s
}

/// Defines (then redefines) `xml` and reads it back; returns the faster round trip.
fn define_time(c: &Connect, name: &str, xml: &str) -> Duration {
    (0..2)
        .map(|_| {
            let t = Instant::now();
            let d = c.define_domain(xml).expect("wide domain defines");
            let back = d.xml_desc(0).expect("dumpxml");
            let took = t.elapsed();
            assert!(back.contains(&format!("<name>{name}</name>")));
            // Foreign metadata is written as libxml2 dumps it, double-quoted.
            assert!(back.contains(" a999=\"0\""), "metadata kept");
            took
        })
        .min()
        .expect("two runs")
}

/// Calls `getHostname` on its own connection until `stop`; returns the slowest answer and
/// how many calls were made.
fn ping(uri: String, stop: Arc<AtomicBool>) -> (Duration, u32) {
    let c = Connect::open(&uri).expect("second client connects");
    let (mut worst, mut calls) = (Duration::ZERO, 0);
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        c.hostname().expect("hostname");
        worst = worst.max(t.elapsed());
        calls += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    (worst, calls)
}

#[test]
fn wide_documents_define_in_linear_time_while_others_are_answered() {
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    let c = Connect::open(&uri).expect("connect");
    let stop = Arc::new(AtomicBool::new(false));
    let pinger = {
        let (uri, stop) = (uri.clone(), stop.clone());
        std::thread::spawn(move || ping(uri, stop))
    };
    let small = define_time(&c, "wide50k", &wide_domain("wide50k", 50_000));
    let large = define_time(&c, "wide100k", &wide_domain("wide100k", 100_000));
    stop.store(true, Ordering::Relaxed);
    let (worst, calls) = pinger.join().expect("pinger");
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    eprintln!("50k: {small:?}, 100k: {large:?}, slowest getHostname of {calls}: {worst:?}");
    assert!(
        ratio < 3.5,
        "100k attributes took {large:?}, 50k took {small:?} (ratio {ratio:.2})"
    );
    assert!(calls > 0, "the second client made no calls");
    // Relative to the define itself, so a loaded machine slows both alike: a daemon
    // that served nobody while parsing would make one call wait about as long.
    assert!(
        worst < large / 4,
        "a getHostname call took {worst:?} while a {large:?} define ran"
    );
}

#[test]
fn an_element_with_too_many_attributes_is_refused_at_once() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("connect");
    let attrs: String = (0..50_000).map(|i| format!(" a{i}='1'")).collect();
    let xml = domain_xml("flat", "131072", "1").replacen(
        "<domain type='test'",
        &format!("<domain type='test'{attrs}"),
        1,
    );
    let e = c.define_domain(&xml).expect_err("refused");
    assert_eq!((e.code, e.domain), (code::XML_ERROR, FROM_DOMAIN));
    assert_eq!(
        e.text(),
        "XML error: element <domain> has more than 1000 attributes"
    );
    assert!(c.domain_by_name("flat").is_err());
}

/// Defines `xml` expecting a refusal with `code` and exactly `text`, and no domain `name`.
fn refused(c: &Connect, xml: &str, name: &str, want_code: i32, text: &str) {
    let e = c.define_domain(xml).expect_err(text);
    assert_eq!((e.code, e.domain), (want_code, FROM_DOMAIN), "{}", e.text());
    assert_eq!(e.text(), text);
    assert!(!e.text().contains("XML error: XML error"), "{}", e.text());
    let got = c.domain_by_name(name).expect_err("nothing defined");
    assert_eq!(got.code, code::NO_DOMAIN);
}

#[test]
fn test_driver_refuses_names_and_values_as_libvirt_does() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("connect");
    let evil = "../../etc/evil";
    refused(
        &c,
        &domain_xml(evil, "131072", "1"),
        evil,
        code::XML_ERROR,
        "XML error: name ../../etc/evil cannot contain '/'",
    );
    refused(
        &c,
        &domain_xml("a\nb", "131072", "1"),
        "a\nb",
        code::XML_DETAIL,
        "invalid char in name: \n",
    );
    for (name, ch) in [("nul\0x", "U+0000"), ("ctl\u{1}x", "U+0001")] {
        refused(
            &c,
            &domain_xml(name, "131072", "1"),
            name,
            code::XML_DETAIL,
            &format!(
                "(domain_definition):1: character {ch} is not allowed in XML\n{}\n{}^",
                // libvirt shows at most 80 characters of the line.
                &domain_xml(name, "131072", "1")[..80],
                "-".repeat(29)
            ),
        );
    }
    refused(
        &c,
        &domain_xml("nomem", "0", "1"),
        "nomem",
        code::XML_ERROR,
        "XML error: Memory size must be specified via <memory> or in the <numa> configuration",
    );
    refused(
        &c,
        &domain_xml("manycpus", "131072", "4294967295"),
        "manycpus",
        code::XML_ERROR,
        "XML error: maximum vcpus count must not be greater than 16384",
    );
    refused(
        &c,
        &domain_xml("overflow", "131072", "4294967296"),
        "overflow",
        code::XML_ERROR,
        "XML error: maximum vcpus count must be an integer",
    );
    // Tabs and spaces are fine in names, as in libvirt.
    let ok = c
        .define_domain(&domain_xml("tab\there", "131072", "1"))
        .expect("tab in a name is fine");
    assert_eq!(ok.name(), "tab\there");
}

#[test]
fn network_and_pool_names_with_slash_are_refused() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("connect");
    let e = c
        .define_network("<network><name>a/b</name></network>")
        .expect_err("network name with '/'");
    assert_eq!(
        (e.code, e.text()),
        (code::XML_DETAIL, "invalid char in name: /")
    );
    let e = c
        .define_storage_pool(
            "<pool type='dir'><name>a/b</name><target><path>/tmp/x</path></target></pool>",
        )
        .expect_err("pool name with '/'");
    assert_eq!(
        (e.code, e.text()),
        (code::XML_ERROR, "XML error: name a/b cannot contain '/'")
    );
}

/// `VIR_ERR_CONFIG_UNSUPPORTED`.
const CONFIG_UNSUPPORTED: i32 = 67;

#[test]
fn qemu_refuses_more_vcpus_than_the_machine_takes() {
    let qemu = "/usr/bin/qemu-system-x86_64";
    if !rvirt_tests::require_peer(
        "qemu-system-x86_64 (qemu-system-x86)",
        rvirt_tests::have_program(qemu),
    ) {
        return;
    }
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("qemu:///system")).expect("connect");
    let tiny = rvirt_tests::read_compat("qemu/tiny-tcg.xml")
        .replace("<name>anchortinytcg</name>", "<name>hardeningvcpus</name>");
    let with = |machine: &str, vcpus: &str| {
        tiny.replace("machine='pc'", &format!("machine='{machine}'"))
            .replace("<vcpu>1</vcpu>", &format!("<vcpu>{vcpus}</vcpu>"))
    };
    for (machine, vcpus, limit) in [("pc", "256", 255), ("q35", "289", 288), ("isapc", "2", 1)] {
        let e = c
            .define_domain(&with(machine, vcpus))
            .expect_err("too many vcpus");
        assert_eq!(
            (e.code, e.text()),
            (
                CONFIG_UNSUPPORTED,
                format!(
                    "unsupported configuration: Maximum CPUs greater than specified machine type limit {limit}"
                )
                .as_str()
            ),
            "{machine}"
        );
    }
    let e = c
        .define_domain(&with("pc", "4294967295"))
        .expect_err("huge vcpu count");
    assert_eq!(
        (e.code, e.text()),
        (
            code::XML_ERROR,
            "XML error: maximum vcpus count must not be greater than 16384"
        )
    );
    assert!(c.domain_by_name("hardeningvcpus").is_err());
}
