package dev.buildhost.monitor.notify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.monitor.testing.FakeSmtp;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Against a tiny SMTP server on 127.0.0.1 that records the conversation. */
class SmtpClientTest {
  FakeSmtp relay;

  @BeforeEach
  void start() throws IOException {
    relay = new FakeSmtp();
  }

  @AfterEach
  void stop() throws IOException {
    relay.close();
  }

  SmtpClient client(Duration timeout) {
    return SmtpClient.forRelay(relay.relay(), "host.test", timeout);
  }

  @Test
  void sendsAMessageWithDotStuffingAndNoHeaderInjection() throws Exception {
    client(Duration.ofSeconds(3))
        .send(
            "monitor@host.test",
            List.of("a@example.org", "b@example.org"),
            "rebooting\r\nBcc: evil@example.org",
            "line one\n.starts with a dot\nlast");
    List<String> received = relay.received();
    assertEquals(
        List.of(
            "HELO host.test",
            "MAIL FROM:<monitor@host.test>",
            "RCPT TO:<a@example.org>",
            "RCPT TO:<b@example.org>",
            "DATA"),
        received.subList(0, 5));
    assertTrue(received.contains("Subject: rebooting  Bcc: evil@example.org"), received.toString());
    assertTrue(received.stream().noneMatch(l -> l.startsWith("Bcc:")), received.toString());
    assertTrue(received.contains("..starts with a dot"), received.toString());
    assertEquals(
        List.of("last", ".", "QUIT"), received.subList(received.size() - 3, received.size()));
  }

  @Test
  void aRefusedRecipientIsAnError() {
    relay.replies = Map.of("RCPT", "550 no such user");
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                client(Duration.ofSeconds(3)).send("m@h.test", List.of("x@example.org"), "s", "b"));
    assertTrue(e.getMessage().contains("refused RCPT: 550 no such user"), e.getMessage());
  }

  @Test
  void aSilentRelayTimesOut() {
    relay.silent = true;
    long t0 = System.nanoTime();
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                client(Duration.ofMillis(300))
                    .send("m@h.test", List.of("x@example.org"), "s", "b"));
    assertTrue(e instanceof java.net.SocketTimeoutException, e.toString());
    assertTrue((System.nanoTime() - t0) / 1_000_000 < 2500);
  }

  @Test
  void relayAddresses() {
    assertEquals(
        List.of("mail", 25), hostPort(SmtpClient.forRelay("mail", "h", Duration.ofSeconds(1))));
    assertEquals(
        List.of("mail.example.org", 2525),
        hostPort(SmtpClient.forRelay("mail.example.org:2525", "h", Duration.ofSeconds(1))));
    assertEquals(
        List.of("::1", 25), hostPort(SmtpClient.forRelay("[::1]", "h", Duration.ofSeconds(1))));
    assertEquals(
        List.of("::1", 26), hostPort(SmtpClient.forRelay("[::1]:26", "h", Duration.ofSeconds(1))));
  }

  private static List<Object> hostPort(SmtpClient c) {
    return List.of(c.host(), c.port());
  }
}
