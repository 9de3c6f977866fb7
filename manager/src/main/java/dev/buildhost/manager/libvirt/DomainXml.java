package dev.buildhost.manager.libvirt;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * The libvirt XML of one instance's transient domain. Built with the DOM, so every value from a
 * manifest is escaped and cannot add elements. The guest learns its TFTP endpoint from the fw_cfg
 * entry {@code opt/buildhost/tftp} (a disk-only machine has no other way), and also from the kernel
 * command line ({@code buildhost.tftp=HOST:PORT}) when the machine boots a kernel: {@code
 * 10.0.2.2:PORT} on QEMU user networking, the bridge's {@code HOST:69} on a tap (the firewall sends
 * it to the instance's own server; a stock worker needs no endpoint at all).
 *
 * @param instanceId the instance id: names the domain {@code buildhost-<id>} and is kept in its
 *     metadata
 * @param owner the state folder of the manager that owns the domain, kept in its metadata: a
 *     manager reconciles only its own domains, never those of another manager (another root, a
 *     test) on the same libvirtd
 * @param domainType {@code kvm} or {@code qemu} (TCG), as the acceleration probe decided
 * @param memoryMib guest RAM
 * @param vcpus guest CPUs
 * @param consoleLog file the serial console is written to
 * @param mac fixed MAC address, or null for one chosen by libvirt
 * @param disk the instance's qcow2 overlay and its backing chain, or null for a diskless machine
 * @param kernel kernel for direct boot (the instance's copy: {@link BootFiles}), or null to boot
 *     from the disk
 * @param initrd initrd for direct boot (the instance's copy), or null
 * @param cmdline the manifest's kernel command line, or null
 * @param tftpPort the instance's TFTP port on the host's loopback
 * @param options the manifest's accepted options
 * @param tap the guest's tap on the guest bridge (network mode bridge), or null for QEMU user
 *     networking
 */
public record DomainXml(
    String instanceId,
    String owner,
    String domainType,
    long memoryMib,
    int vcpus,
    Path consoleLog,
    String mac,
    Disk disk,
    Path kernel,
    Path initrd,
    String cmdline,
    int tftpPort,
    VmOptions options,
    Tap tap) {

  /**
   * An instance's disk: its own qcow2 overlay, which QEMU writes, over files that every instance of
   * the revision shares and QEMU only reads.
   *
   * @param overlay the instance's overlay
   * @param backingChain the overlay's backing files, nearest first: the bootstrapped layer if any,
   *     the revision's disk, then the files that disk chains to; written out in full, so that
   *     libvirt probes nothing itself
   */
  public record Disk(Path overlay, List<BackingFile> backingChain) {
    public Disk {
      backingChain = List.copyOf(backingChain);
    }
  }

  /**
   * One file under an overlay.
   *
   * @param file its absolute path
   * @param format its format as qemu names it ({@code qcow2}, {@code raw})
   */
  public record BackingFile(Path file, String format) {}

  /**
   * A tap made for the guest beforehand (libvirt opens it, never makes or deletes it).
   *
   * @param device the tap's name
   * @param hostAddress the host's address on the bridge: the guest's TFTP is there at port 69
   */
  public record Tap(String device, String hostAddress) {}

  /** A domain on QEMU user networking (network mode user). */
  public DomainXml(
      String instanceId,
      String owner,
      String domainType,
      long memoryMib,
      int vcpus,
      Path consoleLog,
      String mac,
      Disk disk,
      Path kernel,
      Path initrd,
      String cmdline,
      int tftpPort,
      VmOptions options) {
    this(
        instanceId,
        owner,
        domainType,
        memoryMib,
        vcpus,
        consoleLog,
        mac,
        disk,
        kernel,
        initrd,
        cmdline,
        tftpPort,
        options,
        null);
  }

  /** Domains of ours are named with this prefix and carry the instance id in this namespace. */
  public static final String NAME_PREFIX = "buildhost-";

  public static final String METADATA_NS = "https://buildhost.dev/xmlns/instance/1";
  public static final String FW_CFG_TFTP = "opt/buildhost/tftp";

  /** QEMU user networking shows the host's loopback to the guest at this address. */
  public static final String HOST_FROM_GUEST = "10.0.2.2";

  public static String domainName(String instanceId) {
    return NAME_PREFIX + instanceId;
  }

  /**
   * The instance id in a domain's buildhost metadata (the element {@link #toXml} writes, as libvirt
   * gives it back), or null when the domain is not that owner's: metadata that does not parse,
   * another owner (a manager with another state folder), or an id that does not name the domain.
   */
  public static String instanceIdIn(String metadata, String domainName, String owner) {
    Element label;
    try {
      DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      label =
          factory
              .newDocumentBuilder()
              .parse(new InputSource(new StringReader(metadata)))
              .getDocumentElement();
    } catch (ParserConfigurationException | SAXException | IOException | RuntimeException e) {
      return null;
    }
    String id = label.getTextContent().trim();
    if (!owner.equals(label.getAttribute("owner")) || !domainName.equals(domainName(id))) {
      return null;
    }
    return id;
  }

  /** Where the guest's worker finds its TFTP server. */
  public String tftpEndpoint() {
    return tap == null ? HOST_FROM_GUEST + ":" + tftpPort : tap.hostAddress() + ":69";
  }

  /** The kernel command line given to a direct-boot guest. */
  public String kernelCommandLine() {
    String base = cmdline == null ? "" : cmdline.trim();
    return (base.isEmpty() ? "" : base + " ") + "buildhost.tftp=" + tftpEndpoint();
  }

  public String toXml() {
    Document doc;
    try {
      doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().newDocument();
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException(e);
    }
    Element domain = doc.createElement("domain");
    doc.appendChild(domain);
    domain.setAttribute("type", domainType);
    child(domain, "name", domainName(instanceId));
    Element metadata = child(domain, "metadata", null);
    Element label = doc.createElementNS(METADATA_NS, "buildhost:instance");
    label.setAttribute("owner", owner);
    label.setTextContent(instanceId);
    metadata.appendChild(label);
    child(domain, "memory", Long.toString(memoryMib)).setAttribute("unit", "MiB");
    child(domain, "vcpu", Integer.toString(vcpus));

    Element sysinfo = child(domain, "sysinfo", null);
    sysinfo.setAttribute("type", "fwcfg");
    child(sysinfo, "entry", tftpEndpoint()).setAttribute("name", FW_CFG_TFTP);

    Element os = child(domain, "os", null);
    Element type = child(os, "type", "hvm");
    type.setAttribute("arch", "x86_64");
    type.setAttribute("machine", options.machine());
    if (kernel != null) {
      child(os, "kernel", kernel.toString());
      if (initrd != null) {
        child(os, "initrd", initrd.toString());
      }
      child(os, "cmdline", kernelCommandLine());
    } else {
      child(os, "boot", null).setAttribute("dev", "hd");
    }
    // Without ACPI a guest's poweroff only halts it and the domain would run forever.
    child(child(domain, "features", null), "acpi", null);
    child(domain, "clock", null).setAttribute("offset", "utc");
    // One-shot: any end of the guest, a reboot included, ends the domain.
    child(domain, "on_poweroff", "destroy");
    child(domain, "on_reboot", "destroy");
    child(domain, "on_crash", "destroy");

    Element devices = child(domain, "devices", null);
    if (disk != null) {
      Element diskElement = child(devices, "disk", null);
      diskElement.setAttribute("type", "file");
      diskElement.setAttribute("device", "disk");
      Element driver = child(diskElement, "driver", null);
      driver.setAttribute("name", "qemu");
      driver.setAttribute("type", "qcow2");
      child(diskElement, "source", null).setAttribute("file", disk.overlay().toString());
      Element above = diskElement;
      for (BackingFile backing : disk.backingChain()) {
        Element store = child(above, "backingStore", null);
        store.setAttribute("type", "file");
        child(store, "format", null).setAttribute("type", backing.format());
        Element source = child(store, "source", null);
        source.setAttribute("file", backing.file().toString());
        // libvirt would make every file of the chain QEMU's user's (libvirt-qemu) and never give
        // a backing file its owner back: the revision's files, shared by all its instances,
        // would stay writable by any QEMU process. QEMU reads them as they are (root's, mode
        // 0644/0444); only the overlay is the instance's to relabel.
        Element seclabel = child(source, "seclabel", null);
        seclabel.setAttribute("model", "dac");
        seclabel.setAttribute("relabel", "no");
        above = store;
      }
      child(above, "backingStore", null); // the chain ends here
      Element target = child(diskElement, "target", null);
      target.setAttribute("dev", "virtio".equals(options.diskBus()) ? "vda" : "sda");
      target.setAttribute("bus", options.diskBus());
    }
    Element nic = child(devices, "interface", null);
    if (tap == null) {
      nic.setAttribute("type", "user");
    } else {
      // managed='no': the daemon made the tap (on the bridge, isolated, with its rules); libvirt
      // only opens it, and never deletes it.
      nic.setAttribute("type", "ethernet");
      Element target = child(nic, "target", null);
      target.setAttribute("dev", tap.device());
      target.setAttribute("managed", "no");
    }
    if (mac != null) {
      child(nic, "mac", null).setAttribute("address", mac);
    }
    child(nic, "model", null).setAttribute("type", options.nicModel());
    Element serial = child(devices, "serial", null);
    serial.setAttribute("type", "file");
    child(serial, "source", null).setAttribute("path", consoleLog.toString());
    child(serial, "target", null).setAttribute("port", "0");
    if (options.rng()) {
      Element rng = child(devices, "rng", null);
      rng.setAttribute("model", "virtio");
      child(rng, "backend", "/dev/urandom").setAttribute("model", "random");
    }
    child(devices, "memballoon", null).setAttribute("model", "none");
    return serialize(doc);
  }

  private static Element child(Element parent, String name, String text) {
    Element element = parent.getOwnerDocument().createElement(name);
    if (text != null) {
      element.setTextContent(text);
    }
    parent.appendChild(element);
    return element;
  }

  private static String serialize(Document doc) {
    try {
      var transformer = TransformerFactory.newInstance().newTransformer();
      transformer.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
      transformer.setOutputProperty(OutputKeys.INDENT, "yes");
      transformer.setOutputProperty("{http://xml.apache.org/xslt}indent-amount", "2");
      StringWriter out = new StringWriter();
      transformer.transform(new DOMSource(doc), new StreamResult(out));
      return out.toString();
    } catch (TransformerException e) {
      throw new IllegalStateException("cannot serialise the domain XML", e);
    }
  }
}
