package dev.buildhost.monitor.testing;

import dev.buildhost.common.threads.Threads;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** A tiny SMTP relay on 127.0.0.1 that records every line it receives. */
public final class FakeSmtp implements AutoCloseable {
  private final ServerSocket listener;
  private final List<String> received = Collections.synchronizedList(new ArrayList<>());
  private final Thread thread;

  /** Replies by command word; missing ones get the usual success. */
  public volatile Map<String, String> replies = Map.of();

  /** Accept, then say nothing (to test timeouts). */
  public volatile boolean silent;

  public FakeSmtp() throws IOException {
    listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
    thread = Threads.daemon("fake-smtp", this::serve);
    thread.start();
  }

  public String relay() {
    return "127.0.0.1:" + listener.getLocalPort();
  }

  public List<String> received() {
    synchronized (received) {
      return List.copyOf(received);
    }
  }

  private void serve() {
    while (!listener.isClosed()) {
      try (Socket s = listener.accept()) {
        s.setSoTimeout(3000);
        BufferedReader in =
            new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = s.getOutputStream();
        if (silent) {
          in.readLine();
          continue;
        }
        out.write("220-relay.test ESMTP\r\n220 ready\r\n".getBytes(StandardCharsets.US_ASCII));
        String line;
        boolean data = false;
        while ((line = in.readLine()) != null) {
          received.add(line);
          if (data) {
            if (line.equals(".")) {
              data = false;
              out.write("250 queued\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            continue;
          }
          String word = line.split("[ :]")[0];
          String reply =
              replies.getOrDefault(
                  word,
                  switch (word) {
                    case "DATA" -> "354 go ahead";
                    case "QUIT" -> "221 bye";
                    default -> "250 ok";
                  });
          out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
          if (word.equals("DATA") && reply.startsWith("354")) {
            data = true;
          }
          if (word.equals("QUIT")) {
            break;
          }
        }
      } catch (IOException e) {
        // next connection
      }
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
