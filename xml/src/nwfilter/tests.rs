use super::*;
use crate::XML_INVALID_SCHEMA;
use rvirt_protocol::error::code::INTERNAL_ERROR;

const U: &str = "<uuid>f17e0000-0000-4000-8000-000000000001</uuid>";

fn round(xml: &str) -> String {
    NwFilter::parse(xml).unwrap().to_xml()
}

#[test]
fn defaults_written_like_libvirt() {
    let x = round(&format!(
        "<filter name='f'>{U}<rule action='accept' direction='in'><tcp dstportstart='22'/></rule></filter>"
    ));
    assert_eq!(
        x,
        "<filter name='f' chain='root'>\n  <uuid>f17e0000-0000-4000-8000-000000000001</uuid>\n  \
         <rule action='accept' direction='in' priority='500'>\n    <tcp dstportstart='22'/>\n  \
         </rule>\n</filter>\n"
    );
    let f = NwFilter::parse("<filter name='g' chain='ipv4-x'/>").unwrap();
    assert_eq!((f.chain.as_str(), f.priority), ("ipv4-x", -700));
    assert!(f.to_xml().contains("<uuid>"), "uuid generated");
}

#[test]
fn protocol_attributes_in_libvirt_order_and_normalised() {
    let x = round(&format!(
        "<filter name='f'>{U}<rule action='drop' direction='out' statematch='0'>\
         <mac protocolid='0x0806' srcmacaddr='AA:BB:CC:DD:EE:FF' bogus='1'/></rule></filter>"
    ));
    assert!(x.contains("<rule action='drop' direction='out' priority='500' statematch='false'>"));
    assert!(x.contains("<mac srcmacaddr='aa:bb:cc:dd:ee:ff' protocolid='arp'/>"));
}

#[test]
fn typed_access_for_drivers() {
    let f = NwFilter::parse(&format!(
        "<filter name='f'>{U}<rule action='reject' direction='inout' priority='-10'>\
         <udp/></rule><filterref filter='other'><parameter name='IP' value='1.2.3.4'/>\
         </filterref></filter>"
    ))
    .unwrap();
    let Entry::Rule(r) = &f.entries[0] else {
        panic!("rule first")
    };
    assert_eq!(
        (r.action, r.direction, r.priority),
        (Action::Reject, Direction::InOut, -10)
    );
    assert_eq!(r.protocol_name(), Some("udp"));
    let Entry::FilterRef(fr) = &f.entries[1] else {
        panic!("filterref second")
    };
    assert_eq!(
        fr.parameters,
        vec![("IP".to_string(), "1.2.3.4".to_string())]
    );
}

#[test]
fn bad_values_refused_with_libvirt_wording() {
    let err = |x: &str| NwFilter::parse(x).unwrap_err();
    let e = err("<filter name='f'><rule action='x' direction='in'/></filter>");
    assert_eq!(e.code(), CONFIG_UNSUPPORTED);
    assert_eq!(
        e.to_string(),
        "unsupported configuration: unknown rule action attribute value"
    );
    let e = err("<filter name='f'><rule action='accept' direction='in'><tcp dstportstart='70000'/></rule></filter>");
    assert_eq!(e.code(), INTERNAL_ERROR);
    assert_eq!(
        e.to_string(),
        "internal error: dstportstart has illegal value 70000"
    );
    let e = err("<filter name='f' priority='2000'/>");
    assert_eq!(e.code(), INVALID_ARG);
    assert_eq!(
        e.to_string(),
        "invalid argument: Priority '2000' is outside valid range of [-1000,1000]"
    );
    assert_eq!(
        err("<filter/>").to_string(),
        "internal error: filter has no name"
    );
    assert_eq!(err("<filter name='f' chain='x'/>").code(), INVALID_ARG);
}

#[test]
fn validation_when_asked() {
    let x = "<filter name='f'><bogus/></filter>";
    assert!(NwFilter::parse(x).is_ok());
    let e = NwFilter::parse_with(x, ParseOptions::validate(true)).unwrap_err();
    assert_eq!(e.code(), XML_INVALID_SCHEMA);
    let ok = "<filter name='f'><rule action='accept' direction='in'><tcp dstportstart='1'/></rule></filter>";
    assert!(NwFilter::parse_with(ok, ParseOptions::validate(true)).is_ok());
}
