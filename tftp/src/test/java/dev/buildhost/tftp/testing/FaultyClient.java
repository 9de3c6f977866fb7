package dev.buildhost.tftp.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;
import org.apache.commons.net.tftp.TFTPAckPacket;
import org.apache.commons.net.tftp.TFTPDataPacket;
import org.apache.commons.net.tftp.TFTPErrorPacket;
import org.apache.commons.net.tftp.TFTPPacket;
import org.apache.commons.net.tftp.TFTPPacketException;

/**
 * A TFTP client for tests that can drop, duplicate and reorder chosen packets. Faults are keyed by
 * "OPCODE:block" (e.g. "DATA:5", "ACK:3") and apply to the first packet that matches; "ACK:*"
 * applies to every ACK. Block numbers are the 16-bit numbers on the wire.
 */
public final class FaultyClient implements AutoCloseable {
  public static final int RRQ = 1;
  public static final int WRQ = 2;
  public static final int DATA = 3;
  public static final int ACK = 4;
  public static final int ERROR = 5;
  public static final int OACK = 6;

  private final DatagramSocket socket;
  private final InetSocketAddress server;
  private Duration timeout = Duration.ofMillis(300);
  private int maxRetries = 8;

  /** Incoming packets to drop once. */
  public final Set<String> dropIncoming = new HashSet<>();

  /** Outgoing packets to drop once. */
  public final Set<String> dropOutgoing = new HashSet<>();

  /** Outgoing packets to send twice. */
  public final Set<String> duplicateOutgoing = new HashSet<>();

  /** Outgoing packets to hold back and send after the next outgoing packet (reordering). */
  public final Set<String> delayOutgoing = new HashSet<>();

  /**
   * Called with each in-order DATA block number received by a download (for mid-transfer actions).
   */
  public IntConsumer onData = block -> {};

  /** Download: do not acknowledge the final block. */
  public boolean withholdFinalAck;

  /** Upload: stop sending (vanish) after this many blocks; -1 for never. */
  public long vanishAfterBlocks = -1;

  /** Upload: runs once the server accepted the WRQ, before the first DATA is sent. */
  public Runnable onAccepted = () -> {};

  private byte[] heldBack;
  private final byte[] buffer = new byte[65536];

  /** Every packet received from the server, in order. */
  public final List<Packet> received = new ArrayList<>();

  /** The server's transfer address (its TID), once known. */
  public InetSocketAddress tid;

  public FaultyClient(InetSocketAddress server) throws IOException {
    // the server's own loopback address, so that an IPv6 server gets an IPv6 client
    this(
        server,
        server.getAddress().isLoopbackAddress()
            ? server.getAddress()
            : InetAddress.getLoopbackAddress());
  }

  /**
   * A client sending from {@code local} (e.g. 127.0.0.2: all of 127.0.0.0/8 is loopback on Linux).
   */
  public FaultyClient(InetSocketAddress server, InetAddress local) throws IOException {
    this.server = server;
    this.socket = new DatagramSocket(new InetSocketAddress(local, 0));
  }

  public FaultyClient timeout(Duration timeout) {
    this.timeout = timeout;
    return this;
  }

  public FaultyClient maxRetries(int retries) {
    this.maxRetries = retries;
    return this;
  }

  /** A packet as received, with its source. */
  // ArrayRecordComponent: a payload carrier, never compared or used as a key.
  @SuppressWarnings("ArrayRecordComponent")
  public record Packet(int opcode, int block, byte[] bytes, InetSocketAddress from) {
    public String key() {
      return name(opcode) + ":" + block;
    }

    public int errorCode() {
      return block;
    }

    public String errorMessage() {
      try {
        TFTPPacket p =
            TFTPPacket.newTFTPPacket(
                new DatagramPacket(bytes, bytes.length, from.getAddress(), from.getPort()));
        return ((TFTPErrorPacket) p).getMessage();
      } catch (TFTPPacketException | RuntimeException e) {
        return "(malformed)";
      }
    }

    /** OACK options. */
    public Map<String, String> options() {
      Map<String, String> map = new LinkedHashMap<>();
      String[] parts =
          new String(bytes, 2, bytes.length - 2, StandardCharsets.US_ASCII).split("\0", -1);
      for (int i = 0; i + 1 < parts.length; i += 2) {
        map.put(parts[i], parts[i + 1]);
      }
      return map;
    }
  }

  /** The outcome of a transfer. */
  // ArrayRecordComponent: a payload carrier, never compared or used as a key.
  @SuppressWarnings("ArrayRecordComponent")
  public record Result(byte[] data, Packet error, Map<String, String> oack, int dataPackets) {
    public boolean ok() {
      return error == null;
    }
  }

  static String name(int opcode) {
    switch (opcode) {
      case RRQ:
        return "RRQ";
      case WRQ:
        return "WRQ";
      case DATA:
        return "DATA";
      case ACK:
        return "ACK";
      case ERROR:
        return "ERROR";
      case OACK:
        return "OACK";
      default:
        return "OP" + opcode;
    }
  }

  // ---- raw packets ----

  public static byte[] request(int opcode, String name, String mode, Map<String, String> options) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.write(opcode);
    for (String s : List.of(name, mode)) {
      out.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
      out.write(0);
    }
    options.forEach(
        (k, v) -> {
          out.writeBytes(k.getBytes(StandardCharsets.ISO_8859_1));
          out.write(0);
          out.writeBytes(v.getBytes(StandardCharsets.ISO_8859_1));
          out.write(0);
        });
    return out.toByteArray();
  }

  public void sendRaw(byte[] bytes, InetSocketAddress to) throws IOException {
    socket.send(new DatagramPacket(bytes, bytes.length, to));
  }

  public void sendRaw(byte[] bytes) throws IOException {
    sendRaw(bytes, server);
  }

  /** The next packet, or null after the timeout. */
  public Packet receive(Duration wait) throws IOException {
    DatagramPacket p = new DatagramPacket(buffer, buffer.length);
    socket.setSoTimeout((int) Math.max(1, wait.toMillis()));
    try {
      socket.receive(p);
    } catch (SocketTimeoutException e) {
      return null;
    }
    byte[] bytes = Arrays.copyOf(buffer, p.getLength());
    int opcode = bytes.length >= 2 ? ((bytes[0] & 0xff) << 8) | (bytes[1] & 0xff) : -1;
    int block = bytes.length >= 4 ? ((bytes[2] & 0xff) << 8) | (bytes[3] & 0xff) : -1;
    Packet packet = new Packet(opcode, block, bytes, (InetSocketAddress) p.getSocketAddress());
    received.add(packet);
    return packet;
  }

  private Packet receiveFiltered(Duration wait) throws IOException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return null;
      }
      Packet p = receive(Duration.ofNanos(left));
      if (p == null) {
        return null;
      }
      if (dropIncoming.remove(p.key())) {
        continue;
      }
      return p;
    }
  }

  private void sendPacket(byte[] bytes, int opcode, int block) throws IOException {
    String key = name(opcode) + ":" + block;
    String any = name(opcode) + ":*";
    if (dropOutgoing.remove(key) || dropOutgoing.contains(any)) {
      return;
    }
    if (delayOutgoing.remove(key)) {
      heldBack = bytes;
      return;
    }
    sendRaw(bytes, tid);
    if (duplicateOutgoing.remove(key) || duplicateOutgoing.contains(any)) {
      sendRaw(bytes, tid);
    }
    if (heldBack != null) {
      byte[] late = heldBack;
      heldBack = null;
      sendRaw(late, tid);
    }
  }

  private void ack(int block) throws IOException {
    sendPacket(
        new TFTPAckPacket(tid.getAddress(), tid.getPort(), block).newDatagram().getData(),
        ACK,
        block);
  }

  // ---- transfers ----

  private static int number(String value, int fallback) {
    try {
      return value == null ? fallback : Integer.parseInt(value);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  public Result download(String name, String mode, Map<String, String> options) throws IOException {
    InetSocketAddress previous = tid;
    tid = null;
    sendRaw(request(RRQ, name, mode, options));
    int blockSize = number(options.get("blksize"), 512);
    int window = number(options.get("windowsize"), 1);
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    Map<String, String> oack = Map.of();
    long lastInOrder = 0;
    long lastAcked = -1;
    boolean gapAnswered = false;
    int retries = 0;
    int dataPackets = 0;
    boolean started = false;
    while (true) {
      Packet p = receiveFiltered(timeout);
      if (p == null) {
        if (++retries > maxRetries) {
          throw new IOException("download timed out after block " + lastInOrder);
        }
        if (!started) {
          sendRaw(request(RRQ, name, mode, options));
        } else {
          ack((int) (lastInOrder & 0xffff));
          lastAcked = lastInOrder;
        }
        continue;
      }
      if (p.from().equals(previous)) {
        continue; // a late retransmission of the last transfer this client made
      }
      if (tid == null) {
        tid = p.from();
      } else if (!tid.equals(p.from())) {
        continue;
      }
      started = true;
      switch (p.opcode()) {
        case ERROR:
          return new Result(data.toByteArray(), p, oack, dataPackets);
        case OACK:
          oack = p.options();
          blockSize = Integer.parseInt(oack.getOrDefault("blksize", "512"));
          window = Integer.parseInt(oack.getOrDefault("windowsize", "1"));
          if (lastInOrder == 0) {
            ack(0);
            lastAcked = 0;
          }
          break;
        case DATA:
          {
            dataPackets++;
            int expected = (int) ((lastInOrder + 1) & 0xffff);
            if (p.block() != expected) {
              if (((p.block() - expected) & 0xffff) < 0x8000 && !gapAnswered) {
                ack((int) (lastInOrder & 0xffff));
                lastAcked = lastInOrder;
                gapAnswered = true;
              } else if (p.block() == (int) (lastAcked & 0xffff)) {
                ack(p.block());
              }
              break;
            }
            retries = 0;
            gapAnswered = false;
            int length = p.bytes().length - 4;
            data.write(p.bytes(), 4, length);
            lastInOrder++;
            onData.accept(p.block());
            if (length < blockSize) {
              if (!withholdFinalAck) {
                ack(p.block());
              }
              return new Result(data.toByteArray(), null, oack, dataPackets);
            }
            if (lastInOrder - Math.max(lastAcked, 0) >= window) {
              ack(p.block());
              lastAcked = lastInOrder;
            }
            break;
          }
        default:
          throw new IOException("unexpected packet " + p.key());
      }
    }
  }

  public Result upload(String name, String mode, Map<String, String> options, byte[] content)
      throws IOException {
    InetSocketAddress previous = tid;
    tid = null;
    sendRaw(request(WRQ, name, mode, options));
    int blockSize = number(options.get("blksize"), 512);
    int window = number(options.get("windowsize"), 1);
    Map<String, String> oack = Map.of();
    int retries = 0;
    // wait for OACK or ACK 0
    while (true) {
      Packet p = receiveFiltered(timeout);
      if (p == null) {
        if (++retries > maxRetries) {
          throw new IOException("no answer to the WRQ");
        }
        sendRaw(request(WRQ, name, mode, options));
        continue;
      }
      if (p.from().equals(previous)) {
        continue; // a late retransmission of the last transfer this client made
      }
      tid = p.from();
      if (p.opcode() == ERROR) {
        return new Result(content, p, oack, 0);
      }
      if (p.opcode() == OACK) {
        oack = p.options();
        blockSize = Integer.parseInt(oack.getOrDefault("blksize", "512"));
        window = Integer.parseInt(oack.getOrDefault("windowsize", "1"));
        break;
      }
      if (p.opcode() == ACK && p.block() == 0) {
        window = 1;
        break;
      }
      throw new IOException("unexpected answer to WRQ: " + p.key());
    }
    onAccepted.run();
    long blocks = content.length / blockSize + 1L;
    long base = 1;
    long next = 1;
    retries = 0;
    int dataPackets = 0;
    long deadline = 0;
    while (true) {
      if (next < base + window && next <= blocks) {
        deadline =
            System.nanoTime() + timeout.toNanos(); // ignored packets do not postpone the timeout
      }
      while (next < base + window && next <= blocks) {
        if (vanishAfterBlocks >= 0 && next > vanishAfterBlocks) {
          return new Result(content, null, oack, dataPackets);
        }
        int offset = (int) ((next - 1) * blockSize);
        int length = Math.min(blockSize, content.length - offset);
        byte[] packet =
            new TFTPDataPacket(
                    tid.getAddress(), tid.getPort(), (int) (next & 0xffff), content, offset, length)
                .newDatagram()
                .getData();
        packet = Arrays.copyOf(packet, 4 + length);
        sendPacket(packet, DATA, (int) (next & 0xffff));
        dataPackets++;
        next++;
      }
      Packet p = receiveFiltered(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
      if (p == null) {
        if (++retries > maxRetries) {
          throw new IOException("upload timed out at block " + base);
        }
        next = base;
        continue;
      }
      if (!tid.equals(p.from())) {
        continue;
      }
      if (p.opcode() == ERROR) {
        return new Result(content, p, oack, dataPackets);
      }
      if (p.opcode() != ACK) {
        throw new IOException("unexpected packet " + p.key());
      }
      long acked = (base - 1) + ((p.block() - (base - 1)) & 0xffff);
      if (acked >= base && acked < next) {
        retries = 0;
        if (acked == blocks) {
          return new Result(content, null, oack, dataPackets);
        }
        base = acked + 1;
        next = base;
      }
    }
  }

  @Override
  public void close() {
    socket.close();
  }
}
