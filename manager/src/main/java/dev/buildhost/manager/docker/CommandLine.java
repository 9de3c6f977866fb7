package dev.buildhost.manager.docker;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a manifest {@code command} into the argument vector of the container's process, with POSIX
 * shell quoting rules but no shell: no variables, globs, pipes or redirections.
 *
 * <p>Why no {@code /bin/sh -c}: the command then runs directly under the container's init, so it
 * receives SIGTERM on poweroff (a shell as the signal target would leave its child running until
 * the grace period ends), and images without a shell work too. A machine that wants shell features
 * says so: {@code command: /bin/sh -c 'trap "" TERM; exec worker'}.
 *
 * <p>Rules: blanks separate words; {@code '...'} is literal; inside {@code "..."} a backslash
 * escapes only {@code $ ` " \} and newline; outside quotes a backslash escapes the next character
 * and backslash-newline joins lines.
 */
final class CommandLine {

  private CommandLine() {}

  /** The words of {@code command}; empty for a blank command. */
  static List<String> split(String command) {
    List<String> words = new ArrayList<>();
    StringBuilder word = new StringBuilder();
    boolean inWord = false;
    int i = 0;
    int n = command.length();
    while (i < n) {
      char c = command.charAt(i);
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        if (inWord) {
          words.add(word.toString());
          word.setLength(0);
          inWord = false;
        }
        i++;
      } else if (c == '\'') {
        int end = command.indexOf('\'', i + 1);
        if (end < 0) {
          throw new IllegalArgumentException("unterminated single quote at column " + (i + 1));
        }
        word.append(command, i + 1, end);
        inWord = true;
        i = end + 1;
      } else if (c == '"') {
        i = readDoubleQuoted(command, i, word);
        inWord = true;
      } else if (c == '\\') {
        if (i + 1 >= n) {
          throw new IllegalArgumentException("a backslash ends the command");
        }
        char next = command.charAt(i + 1);
        if (next != '\n') {
          word.append(next);
          inWord = true;
        }
        i += 2;
      } else {
        word.append(c);
        inWord = true;
        i++;
      }
    }
    if (inWord) {
      words.add(word.toString());
    }
    return words;
  }

  /**
   * Appends the content of the double-quoted string opening at {@code open}; returns the index
   * after it.
   */
  private static int readDoubleQuoted(String command, int open, StringBuilder word) {
    int i = open + 1;
    while (i < command.length()) {
      char c = command.charAt(i);
      if (c == '"') {
        return i + 1;
      }
      if (c == '\\' && i + 1 < command.length() && "$`\"\\\n".indexOf(command.charAt(i + 1)) >= 0) {
        if (command.charAt(i + 1) != '\n') {
          word.append(command.charAt(i + 1));
        }
        i += 2;
      } else {
        word.append(c);
        i++;
      }
    }
    throw new IllegalArgumentException("unterminated double quote at column " + (open + 1));
  }
}
