//! Node-file devices (the test driver's `test:///PATH`), mutated, and what libvirt 9.0
//! makes of each: the device's XML or the error's code, domain and message.

use super::NodeDeviceDef;

const CASES: &[(&str, &str)] = &[
    (
        "<device><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 21 22 missing name information",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"/><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "<device>\n  <name>pci_0000_00_02_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0</path>\n  <parent>computer</parent>\n  <capability type='pci'>\n    <class>0x030000</class>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>2</slot>\n    <function>0</function>\n    <product id='0x0126'>2nd Generation Core</product>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n    <capability type='virt_functions' maxCount='7'>\n      <address domain='0x0000' bus='0x03' slot='0x10' function='0x0'/>\n    </capability>\n    <numa node='0'/>\n    <pci-express>\n      <link validity='cap' port='0' speed='8' width='16'/>\n      <link validity='sta' speed='2.5' width='1'/>\n    </pci-express>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 1 22 internal error: no PCI vendor ID supplied for 'pci_0000_00_02_0'",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>bogus</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 1 22 internal error: invalid PCI class supplied for 'pci_0000_00_02_0'",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"bogus\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 27 5 XML error: Invalid value for attribute 'number' in element 'iommuGroup': 'bogus'. Expected non-negative integer value",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"bogus\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 27 5 XML error: Invalid value for attribute 'domain' in element 'address': 'bogus'. Expected non-negative integer value",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"bogus\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 1 22 internal error: invalid NUMA node ID supplied for 'pci_0000_00_02_0'",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "<device>\n  <name>pci_0000_00_02_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0</path>\n  <parent>computer</parent>\n  <capability type='pci'>\n    <class>0x030000</class>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>2</slot>\n    <function>0</function>\n    <product id='0x0126'>2nd Generation Core</product>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n    <capability type='virt_functions' maxCount='7'>\n      <address domain='0x0000' bus='0x03' slot='0x10' function='0x0'/>\n    </capability>\n    <iommuGroup number='1'>\n      <address domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n    </iommuGroup>\n    <pci-express>\n      <link validity='cap' port='0' speed='8' width='16'/>\n      <link validity='sta' speed='2.5' width='1'/>\n    </pci-express>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"bogus\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "<device>\n  <name>pci_0000_00_02_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0</path>\n  <parent>computer</parent>\n  <capability type='pci'>\n    <class>0x030000</class>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>2</slot>\n    <function>0</function>\n    <product id='0x0126'>2nd Generation Core</product>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n    <capability type='virt_functions' maxCount='7'>\n      <address domain='0x0000' bus='0x03' slot='0x10' function='0x0'/>\n    </capability>\n    <iommuGroup number='1'>\n      <address domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n    </iommuGroup>\n    <numa node='0'/>\n    <pci-express>\n      <link validity='sta' speed='2.5' width='1'/>\n    </pci-express>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"bogus\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 27 5 XML error: Invalid value for attribute 'port' in element 'link': 'bogus'. Expected integer value",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"bogus\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 27 5 XML error: Invalid value for attribute 'speed' in element 'link': 'bogus'.",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "<device>\n  <name>pci_0000_00_02_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0</path>\n  <parent>computer</parent>\n  <capability type='pci'>\n    <class>0x030000</class>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>2</slot>\n    <function>0</function>\n    <product id='0x0126'>2nd Generation Core</product>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n    <capability type='virt_functions' maxCount='7'>\n      <address domain='0x0000' bus='0x03' slot='0x10' function='0x0'/>\n    </capability>\n    <iommuGroup number='1'>\n      <address domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n    </iommuGroup>\n    <numa node='0'/>\n    <pci-express>\n      <link validity='cap' port='0' width='16'/>\n      <link validity='sta' speed='2.5' width='1'/>\n    </pci-express>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"bogus\" maxCount=\"7\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "<device>\n  <name>pci_0000_00_02_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0</path>\n  <parent>computer</parent>\n  <capability type='pci'>\n    <class>0x030000</class>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>2</slot>\n    <function>0</function>\n    <product id='0x0126'>2nd Generation Core</product>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n    <iommuGroup number='1'>\n      <address domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n    </iommuGroup>\n    <numa node='0'/>\n    <pci-express>\n      <link validity='cap' port='0' speed='8' width='16'/>\n      <link validity='sta' speed='2.5' width='1'/>\n    </pci-express>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"bogus\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "ERR 27 22 XML error: Malformed 'maxCount' parameter",
    ),
    (
        "<device><name>pci_0000_00_02_0</name><path>/sys/devices/pci0000:00/0000:00:02.0</path><parent>computer</parent><driver><name>i915</name></driver><capability type=\"pci\"><bogus/><vendor id=\"0x8086\">Intel Corporation</vendor><product id=\"0x0126\">2nd Generation Core</product><function>0</function><slot>2</slot><bus>0</bus><domain>0</domain><class>0x030000</class><iommuGroup number=\"1\"><address domain=\"0x0000\" bus=\"0x00\" slot=\"0x02\" function=\"0x0\"/></iommuGroup><numa node=\"0\"/><pci-express><link validity=\"cap\" port=\"0\" speed=\"8\" width=\"16\"/><link validity=\"sta\" speed=\"2.5\" width=\"1\"/></pci-express><capability type=\"virt_functions\" maxCount=\"\"><address domain=\"0x0000\" bus=\"0x03\" slot=\"0x10\" function=\"0x0\"/></capability></capability></device>",
        "<device>\n  <name>pci_0000_00_02_0</name>\n  <path>/sys/devices/pci0000:00/0000:00:02.0</path>\n  <parent>computer</parent>\n  <capability type='pci'>\n    <class>0x030000</class>\n    <domain>0</domain>\n    <bus>0</bus>\n    <slot>2</slot>\n    <function>0</function>\n    <product id='0x0126'>2nd Generation Core</product>\n    <vendor id='0x8086'>Intel Corporation</vendor>\n    <capability type='virt_functions'>\n      <address domain='0x0000' bus='0x03' slot='0x10' function='0x0'/>\n    </capability>\n    <iommuGroup number='1'>\n      <address domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>\n    </iommuGroup>\n    <numa node='0'/>\n    <pci-express>\n      <link validity='cap' port='0' speed='8' width='16'/>\n      <link validity='sta' speed='2.5' width='1'/>\n    </pci-express>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>usb_1_1</name><parent>computer</parent><capability type=\"usb_device\"><product id=\"0x0001\"></product><vendor id=\"0x1d6b\">Linux</vendor><device>2</device><bus>1</bus></capability></device>",
        "<device>\n  <name>usb_1_1</name>\n  <parent>computer</parent>\n  <capability type='usb_device'>\n    <bus>1</bus>\n    <device>2</device>\n    <product id='0x0001' />\n    <vendor id='0x1d6b'>Linux</vendor>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>net_eth0</name><parent>computer</parent><capability type=\"net\"><address>52:54:00:00:00:01</address><interface>eth0</interface><link state=\"\" speed=\"1000\"/><feature name=\"rx\"/><feature name=\"tso\"/><capability type=\"80203\"/></capability></device>",
        "<device>\n  <name>net_eth0</name>\n  <parent>computer</parent>\n  <capability type='net'>\n    <interface>eth0</interface>\n    <address>52:54:00:00:00:01</address>\n    <link speed='1000'/>\n    <feature name='rx'/>\n    <feature name='tso'/>\n    <capability type='80203'/>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>net_eth0</name><parent>computer</parent><capability type=\"net\"><address>52:54:00:00:00:01</address><interface>eth0</interface><link state=\"up\" speed=\"bogus\"/><feature name=\"rx\"/><feature name=\"tso\"/><capability type=\"80203\"/></capability></device>",
        "ERR 27 5 XML error: Invalid value for attribute 'speed' in element 'link': 'bogus'. Expected non-negative integer value",
    ),
    (
        "<device><name>net_eth0</name><parent>computer</parent><capability type=\"net\"><address>52:54:00:00:00:01</address><interface>eth0</interface><link state=\"up\" speed=\"1000\"/><feature name=\"rx\"/><feature name=\"tso\"/><capability type=\"\"/></capability></device>",
        "<device>\n  <name>net_eth0</name>\n  <parent>computer</parent>\n  <capability type='net'>\n    <interface>eth0</interface>\n    <address>52:54:00:00:00:01</address>\n    <link speed='1000' state='up'/>\n    <feature name='rx'/>\n    <feature name='tso'/>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>block_sda</name><parent>computer</parent><capability type=\"storage\"><model>Disk</model><vendor>ATA</vendor><block>/dev/sda</block><bus>ata</bus><drive_type>disk</drive_type><serial>X1</serial><size>bogus</size><logical_block_size>512</logical_block_size><num_blocks>10</num_blocks></capability></device>",
        "ERR 1 22 internal error: invalid size supplied for 'block_sda'",
    ),
    (
        "<device><name>scsi_0_0_0_0</name><parent>computer</parent><capability type=\"scsi\"><type></type><lun>0</lun><target>0</target><bus>0</bus><host>0</host></capability></device>",
        "<device>\n  <name>scsi_0_0_0_0</name>\n  <parent>computer</parent>\n  <capability type='scsi'>\n    <host>0</host>\n    <bus>0</bus>\n    <target>0</target>\n    <lun>0</lun>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>mdev_x</name><parent>computer</parent><capability type=\"mdev\"><uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid><type id=\"nvidia-11\"/></capability></device>",
        "<device>\n  <name>mdev_x</name>\n  <parent>computer</parent>\n  <capability type='mdev'>\n    <type id='nvidia-11'/>\n    <uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid>\n    <iommuGroup number='0'/>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>mdev_x</name><parent>computer</parent><capability type=\"mdev\"><uuid>bogus</uuid><type id=\"nvidia-11\"/><iommuGroup number=\"12\"/></capability></device>",
        "ERR 1 22 internal error: Invalid uuid 'bogus' for new mdev device",
    ),
    (
        "<device><name>mdev_x</name><parent>computer</parent><capability type=\"mdev\"><uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid><type id=\"\"/><iommuGroup number=\"12\"/></capability></device>",
        "ERR 67 22 unsupported configuration: missing type id attribute for 'mdev_x'",
    ),
    (
        "<device><name>mdev_x</name><parent>computer</parent><capability type=\"mdev\"><uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid><type id=\"nvidia-11\"/><iommuGroup number=\"bogus\"/></capability></device>",
        "ERR 1 22 internal error: invalid iommuGroup number attribute for 'mdev_x'",
    ),
    (
        "<device><name>mdev_x</name><parent>computer</parent><capability type=\"mdev\"><uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid><type id=\"nvidia-11\"/><iommuGroup number=\"\"/></capability></device>",
        "<device>\n  <name>mdev_x</name>\n  <parent>computer</parent>\n  <capability type='mdev'>\n    <type id='nvidia-11'/>\n    <uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid>\n    <iommuGroup number='0'/>\n  </capability>\n</device>\n",
    ),
    (
        "<device><name>ccw_0</name><parent>computer</parent><capability type=\"ccw\"><devno>bogus</devno><ssid>0x0</ssid><cssid>0xfe</cssid></capability></device>",
        "ERR 67 22 unsupported configuration: invalid devno value 'bogus' for 'ccw_0'",
    ),
];

#[test]
fn node_file_devices_agree_with_libvirt() {
    for (x, want) in CASES {
        let got = match NodeDeviceDef::parse(x) {
            Ok(d) => d.to_xml(),
            Err(e) => format!("ERR {} {} {}", e.code(), e.error_domain(20), e),
        };
        assert_eq!(&got, want, "{x}");
    }
}

/// What rvirt writes reads back and writes the same (the fuzz target's property).
#[test]
fn written_devices_read_back() {
    let node = super::tests::NODE_DEVICES.iter().map(|(x, _)| *x);
    for x in CASES.iter().map(|(x, _)| *x).chain(node) {
        if let Ok(d) = NodeDeviceDef::parse(x) {
            let out = d.to_xml();
            let again = NodeDeviceDef::parse(&out).map(|d| d.to_xml());
            assert_eq!(again, Ok(out.clone()), "{out}");
        }
    }
}
