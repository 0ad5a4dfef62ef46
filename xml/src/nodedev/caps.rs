//! Declarative descriptions of the node device capabilities no driver reads field by
//! field: what libvirt keeps of each and the order it writes it in. Parsing one through
//! its [`Spec`] drops what libvirt does not read and puts the rest in libvirt's order.

use crate::spec::{attr, leaf, node, text, AttrSpec, Spec, Value};

const T: Value = Value::Text;
const ID: &[AttrSpec] = &[attr("id", T)];
const TYPE: &[AttrSpec] = &[attr("type", T)];

/// A `<name id='...'>text</name>` element (PCI and USB product and vendor).
const fn id_text(name: &'static str) -> Spec {
    Spec {
        name,
        attrs: ID,
        children: &[],
        text: Some(T),
    }
}

const ADDRESS: Spec = leaf(
    "address",
    &[
        attr("domain", T),
        attr("bus", T),
        attr("slot", T),
        attr("function", T),
    ],
);

const MDEV_TYPE: Spec = Spec {
    name: "type",
    attrs: &[attr("id", T)],
    children: &[
        text("name", T),
        text("deviceAPI", T),
        text("availableInstances", T),
    ],
    text: None,
};

/// A sub-capability of a PCI device, CSS device or AP matrix.
const SUB_CAP: Spec = Spec {
    name: "capability",
    attrs: &[attr("type", T), attr("maxCount", T)],
    children: &[ADDRESS, MDEV_TYPE],
    text: None,
};

const PCI: &[Spec] = &[
    text("class", T),
    text("domain", T),
    text("bus", T),
    text("slot", T),
    text("function", T),
    id_text("product"),
    id_text("vendor"),
    SUB_CAP,
    Spec {
        name: "iommuGroup",
        attrs: &[attr("number", T)],
        children: &[ADDRESS],
        text: None,
    },
    leaf("numa", &[attr("node", T)]),
    node(
        "pci-express",
        &[leaf(
            "link",
            &[
                attr("validity", T),
                attr("port", T),
                attr("speed", T),
                attr("width", T),
            ],
        )],
    ),
];

const USB_DEVICE: &[Spec] = &[
    text("bus", T),
    text("device", T),
    id_text("product"),
    id_text("vendor"),
];

const USB: &[Spec] = &[
    text("number", T),
    text("class", T),
    text("subclass", T),
    text("protocol", T),
    text("description", T),
];

const NET: &[Spec] = &[
    text("interface", T),
    text("address", T),
    leaf("link", &[attr("speed", T), attr("state", T)]),
    leaf("feature", &[attr("name", T)]),
    leaf("capability", &[attr("type", T)]),
];

const STORAGE: &[Spec] = &[
    text("block", T),
    text("bus", T),
    text("drive_type", T),
    text("model", T),
    text("vendor", T),
    text("serial", T),
    text("size", T),
    Spec {
        name: "capability",
        attrs: &[attr("type", T)],
        children: &[
            text("media_available", T),
            text("media_size", T),
            text("media_label", T),
        ],
        text: None,
    },
];

const SCSI_TARGET: &[Spec] = &[
    text("target", T),
    Spec {
        name: "capability",
        attrs: &[attr("type", T)],
        children: &[text("rport", T), text("wwpn", T)],
        text: None,
    },
];

const MDEV: &[Spec] = &[
    leaf("type", &[attr("id", T)]),
    text("uuid", T),
    leaf("iommuGroup", &[attr("number", T)]),
    leaf("attr", &[attr("name", T), attr("value", T)]),
];

const CCW: &[Spec] = &[text("cssid", T), text("ssid", T), text("devno", T), SUB_CAP];

/// Capability types and what libvirt keeps of them.
const CAPS: &[(&str, &[Spec])] = &[
    ("pci", PCI),
    ("usb_device", USB_DEVICE),
    ("usb", USB),
    ("net", NET),
    ("storage", STORAGE),
    ("scsi_target", SCSI_TARGET),
    ("drm", &[text("type", T)]),
    ("mdev", MDEV),
    ("ccw", CCW),
    ("css", CCW),
    ("vdpa", &[text("chardev", T)]),
    ("ap_card", &[text("ap-adapter", T)]),
    ("ap_queue", &[text("ap-adapter", T), text("ap-domain", T)]),
    ("ap_matrix", &[SUB_CAP]),
];

/// The description of a `<capability type=cap_type>` element, if there is one.
pub fn spec(cap_type: &str) -> Option<Spec> {
    CAPS.iter()
        .find(|(t, _)| *t == cap_type)
        .map(|(_, children)| Spec {
            name: "capability",
            attrs: TYPE,
            children,
            text: None,
        })
}
