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

/// A `<vendor_field index>` or `<system_field index>` of a PCI device's VPD.
const INDEX: &[AttrSpec] = &[attr("index", T)];

const fn vpd_field(name: &'static str) -> Spec {
    Spec {
        name,
        attrs: INDEX,
        children: &[],
        text: Some(T),
    }
}

/// The read-only or read-write fields of a PCI device's VPD: one description for both,
/// in the order libvirt writes each.
const VPD_FIELDS: Spec = Spec {
    name: "fields",
    attrs: &[attr("access", T)],
    children: &[
        text("change_level", T),
        text("manufacture_id", T),
        text("part_number", T),
        text("serial_number", T),
        text("asset_tag", T),
        vpd_field("vendor_field"),
        vpd_field("system_field"),
    ],
    text: None,
};

/// A sub-capability of a PCI device (functions, bridge, mediated device types, VPD),
/// CSS device or AP matrix.
const SUB_CAP: Spec = Spec {
    name: "capability",
    attrs: &[attr("type", T), attr("maxCount", T)],
    children: &[text("name", T), VPD_FIELDS, ADDRESS, MDEV_TYPE],
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

/// A block device's size in blocks, which libvirt reports of a host's disk (it reads
/// neither from a document).
const BLOCKS: [Spec; 2] = [text("logical_block_size", T), text("num_blocks", T)];

const STORAGE_HOST: &[Spec] = &[
    text("block", T),
    text("bus", T),
    text("drive_type", T),
    text("model", T),
    text("vendor", T),
    text("serial", T),
    text("size", T),
    BLOCKS[0],
    BLOCKS[1],
    Spec {
        name: "capability",
        attrs: &[attr("type", T)],
        children: &[
            text("media_available", T),
            text("media_size", T),
            text("media_label", T),
            BLOCKS[0],
            BLOCKS[1],
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

const MDEV_HOST: &[Spec] = &[
    leaf("type", &[attr("id", T)]),
    text("uuid", T),
    text("parent_addr", T),
    leaf("iommuGroup", &[attr("number", T)]),
    leaf("attr", &[attr("name", T), attr("value", T)]),
];

const CCW: &[Spec] = &[text("cssid", T), text("ssid", T), text("devno", T), SUB_CAP];

/// A CSS device as a host reports it: with the address of its channel device.
const CSS_HOST: &[Spec] = &[
    text("cssid", T),
    text("ssid", T),
    text("devno", T),
    node(
        "channel_dev_addr",
        &[text("cssid", T), text("ssid", T), text("devno", T)],
    ),
    SUB_CAP,
];

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

/// What a host's device reports beyond what libvirt reads from a document.
const HOST_CAPS: &[(&str, &[Spec])] = &[
    ("storage", STORAGE_HOST),
    ("mdev", MDEV_HOST),
    ("css", CSS_HOST),
    ("scsi_generic", &[text("char", T)]),
];

/// The description of a `<capability type=cap_type>` element, if there is one: of a
/// host's device (everything libvirt reports) when `host`, else of a document.
pub fn spec(cap_type: &str, host: bool) -> Option<Spec> {
    let host_caps = if host { HOST_CAPS } else { &[] };
    host_caps
        .iter()
        .chain(CAPS)
        .find(|(t, _)| *t == cap_type)
        .map(|(_, children)| Spec {
            name: "capability",
            attrs: TYPE,
            children,
            text: None,
        })
}
