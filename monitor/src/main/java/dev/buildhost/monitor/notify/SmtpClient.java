package dev.buildhost.monitor.notify;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * A minimal SMTP client (RFC 5321) for a relay that accepts mail without authentication, as Build
 * OS uses: HELO, MAIL FROM, RCPT TO, DATA, QUIT over one socket with a connect and read timeout.
 * Header values are stripped of CR/LF; the body is dot-stuffed.
 */
public final class SmtpClient {
  private final String host;
  private final int port;
  private final String heloName;
  private final Duration timeout;

  public SmtpClient(String host, int port, String heloName, Duration timeout) {
    this.host = host;
    this.port = port;
    this.heloName = heloName;
    this.timeout = timeout;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  /**
   * Parses {@code host}, {@code host:port}, {@code [v6]} or {@code [v6]:port}; port 25 by default.
   */
  public static SmtpClient forRelay(String relay, String heloName, Duration timeout) {
    String host = relay;
    int port = 25;
    int colon = relay.lastIndexOf(':');
    if (colon > 0
        && relay.indexOf(']') < colon
        && (relay.startsWith("[") || relay.indexOf(':') == colon)) {
      host = relay.substring(0, colon);
      port = Integer.parseInt(relay.substring(colon + 1));
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new SmtpClient(host, port, heloName, timeout);
  }

  public void send(String from, List<String> to, String subject, String body) throws IOException {
    int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), ms);
      s.setSoTimeout(ms);
      BufferedReader in =
          new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      OutputStream out = s.getOutputStream();
      expect(in, "greeting", 220);
      command(out, in, "HELO " + clean(heloName), 250);
      command(out, in, "MAIL FROM:<" + clean(from) + ">", 250);
      for (String rcpt : to) {
        command(out, in, "RCPT TO:<" + clean(rcpt) + ">", 250, 251);
      }
      command(out, in, "DATA", 354);
      StringBuilder msg = new StringBuilder();
      msg.append("From: ").append(clean(from)).append("\r\n");
      msg.append("To: ").append(clean(String.join(", ", to))).append("\r\n");
      msg.append("Subject: ").append(clean(subject)).append("\r\n");
      msg.append("Date: ")
          .append(
              DateTimeFormatter.RFC_1123_DATE_TIME.format(
                  ZonedDateTime.now(ZoneId.systemDefault())))
          .append("\r\n");
      msg.append("Content-Type: text/plain; charset=UTF-8\r\n");
      msg.append("\r\n");
      for (String line : body.replace("\r\n", "\n").replace('\r', '\n').split("\n", -1)) {
        msg.append(line.startsWith(".") ? "." : "").append(line).append("\r\n");
      }
      msg.append(".\r\n");
      out.write(msg.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      expect(in, "end of DATA", 250);
      command(out, in, "QUIT", 221);
    }
  }

  private static void command(OutputStream out, BufferedReader in, String line, int... ok)
      throws IOException {
    out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
    expect(in, line.split("[ :]")[0], ok);
  }

  /** Reads a reply (continuation lines are {@code 250-...}) and checks its code. */
  private static void expect(BufferedReader in, String after, int... ok) throws IOException {
    String line;
    StringBuilder all = new StringBuilder();
    do {
      line = in.readLine();
      if (line == null) {
        throw new IOException("SMTP relay closed the connection after " + after);
      }
      if (all.length() < 500) {
        all.append(all.length() == 0 ? "" : " / ").append(line);
      }
    } while (line.length() > 3 && line.charAt(3) == '-');
    int code;
    try {
      code = Integer.parseInt(line.substring(0, Math.min(3, line.length())));
    } catch (NumberFormatException e) {
      throw new IOException("SMTP relay sent a malformed reply after " + after + ": " + all);
    }
    for (int c : ok) {
      if (c == code) {
        return;
      }
    }
    throw new IOException("SMTP relay refused " + after + ": " + all);
  }

  private static String clean(String s) {
    return s.replace('\r', ' ').replace('\n', ' ');
  }
}
