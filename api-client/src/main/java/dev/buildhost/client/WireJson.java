package dev.buildhost.client;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.jr.ob.JSON;
import com.fasterxml.jackson.jr.ob.JSONObjectException;
import com.fasterxml.jackson.jr.ob.JacksonJrExtension;
import com.fasterxml.jackson.jr.ob.api.ExtensionContext;
import com.fasterxml.jackson.jr.ob.api.ReaderWriterProvider;
import com.fasterxml.jackson.jr.ob.api.ValueReader;
import com.fasterxml.jackson.jr.ob.api.ValueWriter;
import com.fasterxml.jackson.jr.ob.impl.JSONReader;
import com.fasterxml.jackson.jr.ob.impl.JSONWriter;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * The client's side of the wire: it reads the daemon's answers into the wire records and writes its
 * request bodies, with jackson-jr. Databind ({@link ApiJson}) maps the same records on the daemon's
 * side, but setting it up (its default date format loads every locale's calendar data) and
 * introspecting each record took half of a CLI verb's start-up (bench/cli); jackson-jr reads the
 * records through their canonical constructors for a fraction of that. Times are ISO-8601 strings,
 * as the daemon writes them; fields the client does not know are skipped, so that a client keeps
 * working against a newer daemon that added some; nulls are left out of request bodies (the daemon
 * reads an absent field as null).
 */
final class WireJson {

  private static final JSON JSON_ =
      JSON.builder()
          .register(new InstantAsText())
          .disable(JSON.Feature.FAIL_ON_UNKNOWN_BEAN_PROPERTY)
          .build();

  private WireJson() {}

  static <T> T read(byte[] json, Class<T> type) throws IOException {
    return JSON_.beanFrom(type, json);
  }

  static <T> List<T> readList(byte[] json, Class<T> type) throws IOException {
    return JSON_.listOfFrom(type, json);
  }

  /** Any JSON value: a Map for an object, a List for an array, a String, a Number... */
  static Object readAny(String json) throws IOException {
    return JSON_.anyFrom(json);
  }

  static byte[] write(Object value) throws IOException {
    return JSON_.asBytes(value);
  }

  /** {@link Instant} as its ISO-8601 text, both ways. */
  private static final class InstantAsText extends JacksonJrExtension {
    @Override
    protected void register(ExtensionContext context) {
      context.appendProvider(
          new ReaderWriterProvider() {
            @Override
            public ValueReader findValueReader(JSONReader reader, Class<?> type) {
              return type == Instant.class ? READER : null;
            }

            @Override
            public ValueWriter findValueWriter(JSONWriter writer, Class<?> type) {
              return type == Instant.class ? WRITER : null;
            }
          });
    }

    private static final ValueReader READER =
        new ValueReader(Instant.class) {
          @Override
          public Object read(JSONReader reader, JsonParser parser) throws IOException {
            String text = parser.getValueAsString();
            try {
              return text == null ? null : Instant.parse(text);
            } catch (DateTimeParseException e) {
              throw new JSONObjectException("'" + text + "' is not an ISO-8601 time", e);
            }
          }
        };

    private static final ValueWriter WRITER =
        new ValueWriter() {
          @Override
          public void writeValue(JSONWriter writer, JsonGenerator generator, Object value)
              throws IOException {
            generator.writeString(value.toString());
          }

          @Override
          public Class<?> valueType() {
            return Instant.class;
          }
        };
  }
}
