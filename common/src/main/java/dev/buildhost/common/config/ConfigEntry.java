package dev.buildhost.common.config;

/**
 * One {@code key = value} line of a config file.
 *
 * @param key the key in the one key style (words joined by {@code _}), whichever spelling the file
 *     used
 * @param value the text after {@code =}, blanks around it removed
 * @param line the line number, from 1
 * @param where {@code FILE:LINE}, the prefix of every message about this line
 */
public record ConfigEntry(String key, String value, int line, String where) {}
