package dev.buildhost.manager.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

class DomainXmlTest {
  private static final Path DIR = Path.of("/build/instances/vm-1");
  private static final Path REV = Path.of("/build/machines/vm/vm-1.0");
  private static final DomainXml.Disk DISK =
      new DomainXml.Disk(
          DIR.resolve("disk.qcow2"),
          List.of(new DomainXml.BackingFile(REV.resolve("disk.qcow2"), "qcow2")));

  private static Document parse(DomainXml domain) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setNamespaceAware(true);
    return factory
        .newDocumentBuilder()
        .parse(new ByteArrayInputStream(domain.toXml().getBytes(StandardCharsets.UTF_8)));
  }

  private static String x(Document doc, String path) throws Exception {
    return XPathFactory.newInstance().newXPath().evaluate(path, doc);
  }

  private static int count(Document doc, String path) throws Exception {
    return ((NodeList)
            XPathFactory.newInstance().newXPath().evaluate(path, doc, XPathConstants.NODESET))
        .getLength();
  }

  private static DomainXml directBoot(String cmdline, String mac, VmOptions options) {
    return new DomainXml(
        "vm-1",
        "/state/buildhost",
        "qemu",
        768,
        2,
        DIR.resolve("console.log"),
        mac,
        DISK,
        REV.resolve("vmlinuz"),
        REV.resolve("initrd.img"),
        cmdline,
        10042,
        options);
  }

  @Test
  void onTheGuestBridgeTheNicIsTheTapTheDaemonMadeAndTftpIsAtTheBridgeAddress() throws Exception {
    DomainXml user = directBoot("console=ttyS0", "0a:11:22:33:44:55", VmOptions.DEFAULTS);
    DomainXml bridged =
        new DomainXml(
            user.instanceId(),
            user.owner(),
            user.domainType(),
            user.memoryMib(),
            user.vcpus(),
            user.consoleLog(),
            user.mac(),
            user.disk(),
            user.kernel(),
            user.initrd(),
            user.cmdline(),
            user.tftpPort(),
            user.options(),
            new DomainXml.Tap("bht0ddc0c6b", "196.254.111.222"));
    Document doc = parse(bridged);
    assertEquals("ethernet", x(doc, "/domain/devices/interface/@type"));
    assertEquals("bht0ddc0c6b", x(doc, "/domain/devices/interface/target/@dev"));
    assertEquals("no", x(doc, "/domain/devices/interface/target/@managed"));
    assertEquals("0a:11:22:33:44:55", x(doc, "/domain/devices/interface/mac/@address"));
    assertEquals("console=ttyS0 buildhost.tftp=196.254.111.222:69", x(doc, "/domain/os/cmdline"));
    assertEquals(
        "196.254.111.222:69",
        x(doc, "/domain/sysinfo[@type='fwcfg']/entry[@name='opt/buildhost/tftp']"));
  }

  @Test
  void aDirectBootDomainHasEverythingTheInstanceNeeds() throws Exception {
    Document doc =
        parse(directBoot("console=ttyS0 quiet", "52:54:00:12:34:56", VmOptions.DEFAULTS));
    assertEquals("qemu", x(doc, "/domain/@type"));
    assertEquals("buildhost-vm-1", x(doc, "/domain/name"));
    org.w3c.dom.Element label =
        (org.w3c.dom.Element) doc.getElementsByTagNameNS(DomainXml.METADATA_NS, "instance").item(0);
    assertEquals("vm-1", label.getTextContent());
    assertEquals("/state/buildhost", label.getAttribute("owner"));
    assertEquals("768", x(doc, "/domain/memory"));
    assertEquals("MiB", x(doc, "/domain/memory/@unit"));
    assertEquals("2", x(doc, "/domain/vcpu"));
    assertEquals(1, count(doc, "/domain/features/acpi"));
    assertEquals("/build/machines/vm/vm-1.0/vmlinuz", x(doc, "/domain/os/kernel"));
    assertEquals("/build/machines/vm/vm-1.0/initrd.img", x(doc, "/domain/os/initrd"));
    assertEquals("console=ttyS0 quiet buildhost.tftp=10.0.2.2:10042", x(doc, "/domain/os/cmdline"));
    assertEquals("pc", x(doc, "/domain/os/type/@machine"));
    assertEquals(
        "10.0.2.2:10042",
        x(doc, "/domain/sysinfo[@type='fwcfg']/entry[@name='opt/buildhost/tftp']"),
        "fw_cfg holds the endpoint too");
    assertEquals("file", x(doc, "/domain/devices/serial/@type"));
    assertEquals(
        "/build/instances/vm-1/console.log", x(doc, "/domain/devices/serial/source/@path"));
    assertEquals("user", x(doc, "/domain/devices/interface/@type"));
    assertEquals("virtio", x(doc, "/domain/devices/interface/model/@type"));
    assertEquals("52:54:00:12:34:56", x(doc, "/domain/devices/interface/mac/@address"));
    assertEquals("qcow2", x(doc, "/domain/devices/disk/driver/@type"));
    assertEquals("/build/instances/vm-1/disk.qcow2", x(doc, "/domain/devices/disk/source/@file"));
    assertEquals("vda", x(doc, "/domain/devices/disk/target/@dev"));
    assertEquals("destroy", x(doc, "/domain/on_poweroff"));
    assertEquals("destroy", x(doc, "/domain/on_reboot"));
    assertEquals(0, count(doc, "/domain/devices/rng"));
  }

  @Test
  void theFilesUnderTheOverlayAreNamedInFullAndLeftToTheirOwner() throws Exception {
    Path layer = Path.of("/state/buildhost/bootstrapped/vm/1.0/stable/1/disk.qcow2");
    DomainXml domain =
        new DomainXml(
            "vm-1",
            "/state/buildhost",
            "qemu",
            512,
            1,
            DIR.resolve("console.log"),
            null,
            new DomainXml.Disk(
                DIR.resolve("disk.qcow2"),
                List.of(
                    new DomainXml.BackingFile(layer, "qcow2"),
                    new DomainXml.BackingFile(REV.resolve("disk.img"), "raw"))),
            null,
            null,
            null,
            10043,
            VmOptions.DEFAULTS);
    Document doc = parse(domain);
    String disk = "/domain/devices/disk";
    assertEquals("/build/instances/vm-1/disk.qcow2", x(doc, disk + "/source/@file"));
    assertEquals(0, count(doc, disk + "/source/seclabel"), "the overlay is the instance's own");
    assertEquals(layer.toString(), x(doc, disk + "/backingStore/source/@file"));
    assertEquals("qcow2", x(doc, disk + "/backingStore/format/@type"));
    assertEquals("no", x(doc, disk + "/backingStore/source/seclabel[@model='dac']/@relabel"));
    String base = disk + "/backingStore/backingStore";
    assertEquals("/build/machines/vm/vm-1.0/disk.img", x(doc, base + "/source/@file"));
    assertEquals("raw", x(doc, base + "/format/@type"));
    assertEquals("no", x(doc, base + "/source/seclabel[@model='dac']/@relabel"));
    assertEquals(0, count(doc, base + "/backingStore/*"), "an empty backingStore ends the chain");
    assertEquals(1, count(doc, base + "/backingStore"));
  }

  @Test
  void theMetadataNamesItsInstanceToItsOwnerOnly() {
    String label =
        "<buildhost:instance xmlns:buildhost='"
            + DomainXml.METADATA_NS
            + "' owner='/state/buildhost'> vm-1 </buildhost:instance>";
    assertEquals("vm-1", DomainXml.instanceIdIn(label, "buildhost-vm-1", "/state/buildhost"));
    assertNull(
        DomainXml.instanceIdIn(label, "buildhost-vm-1", "/other/state"), "another manager's");
    assertNull(
        DomainXml.instanceIdIn(label, "buildhost-vm-2", "/state/buildhost"),
        "a label copied onto another domain");
    assertNull(DomainXml.instanceIdIn("<buildhost:inst", "buildhost-vm-1", "/state/buildhost"));
    assertNull(
        DomainXml.instanceIdIn(
            "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/hostname'>]>" + label,
            "buildhost-vm-1",
            "/state/buildhost"),
        "no document type, no entity is read");
  }

  @Test
  void aDiskBootDomainGetsItsEndpointThroughFwCfg() throws Exception {
    DomainXml domain =
        new DomainXml(
            "vm-1",
            "/state/buildhost",
            "kvm",
            512,
            1,
            DIR.resolve("console.log"),
            null,
            DISK,
            null,
            null,
            null,
            10043,
            VmOptions.DEFAULTS);
    Document doc = parse(domain);
    assertEquals("kvm", x(doc, "/domain/@type"));
    assertEquals("fwcfg", x(doc, "/domain/sysinfo/@type"));
    assertEquals("opt/buildhost/tftp", x(doc, "/domain/sysinfo/entry/@name"));
    assertEquals("10.0.2.2:10043", x(doc, "/domain/sysinfo/entry"));
    assertEquals("hd", x(doc, "/domain/os/boot/@dev"));
    assertEquals(0, count(doc, "/domain/os/kernel"));
    assertEquals(
        0,
        count(doc, "/domain/devices/interface/mac"),
        "libvirt picks a MAC when the manifest has none");
  }

  @Test
  void theAcceptedOptionsShapeTheDomain() throws Exception {
    VmOptions options = new VmOptions("q35", "e1000", "sata", true);
    Document doc = parse(directBoot(null, null, options));
    assertEquals("q35", x(doc, "/domain/os/type/@machine"));
    assertEquals("e1000", x(doc, "/domain/devices/interface/model/@type"));
    assertEquals("sata", x(doc, "/domain/devices/disk/target/@bus"));
    assertEquals("sda", x(doc, "/domain/devices/disk/target/@dev"));
    assertEquals("virtio", x(doc, "/domain/devices/rng/@model"));
    assertEquals("/dev/urandom", x(doc, "/domain/devices/rng/backend"));
    assertEquals(
        "buildhost.tftp=10.0.2.2:10042", x(doc, "/domain/os/cmdline"), "no manifest cmdline");
  }

  @Test
  void manifestValuesCannotAddElements() throws Exception {
    String hostile =
        "quiet</cmdline></os><devices><disk type='file'><source file='/etc/shadow'/></disk></devices><os><cmdline>";
    Document doc = parse(directBoot(hostile, null, VmOptions.DEFAULTS));
    assertEquals(hostile + " buildhost.tftp=10.0.2.2:10042", x(doc, "/domain/os/cmdline"));
    assertEquals(1, count(doc, "//disk"));
    assertEquals(1, count(doc, "/domain/os"));
    assertTrue(directBoot(hostile, null, VmOptions.DEFAULTS).toXml().contains("&lt;/cmdline&gt;"));
  }
}
