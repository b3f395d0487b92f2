// The shelfcam camera protocol, without Arduino: building the upload's query string,
// reading the answer's directives, and deciding when to retry. Plain C++11 with no heap
// and no Arduino headers, so shelfcam's test suite compiles and runs it on the host
// (tests/unit/test_esp32_example.py) against the server's own parser and answers.
// The contract is docs/api.md in the shelfcam repository.
#ifndef SHELFCAM_PROTOCOL_H
#define SHELFCAM_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

namespace shelfcam {

static const char INGEST_PATH[] = "/api/v1/ingest/frame";

// The server asks for 20 ms to 1 h (SHELFCAM_BURST_INTERVAL_MS >= 20,
// SHELFCAM_IDLE_INTERVAL_MS <= 3600000); anything outside is clamped.
static const uint32_t MIN_INTERVAL_MS = 20;
static const uint32_t MAX_INTERVAL_MS = 3600000;

static const uint32_t FIRST_RETRY_MS = 500;    // then 1 s, 2 s, 4 s, ...
static const uint32_t MAX_BACKOFF_MS = 30000;  // ... up to 30 s (plus up to 25% jitter)
static const uint32_t MAX_WAIT_MS = 300000;    // no pause is longer, whatever Retry-After says
static const uint32_t UNAUTHORIZED_WAIT_MS = 60000;
static const uint32_t INSUFFICIENT_STORAGE_WAIT_MS = 60000;

// What one upload says about its frame (see docs/api.md, "Metadata").
struct FrameMeta {
  uint32_t seq;
  const char* boot;         // 1-64 of A-Z a-z 0-9 . _ : -
  bool has_captured_at;     // false while the clock is not set: then it is left out
  uint64_t captured_at_ms;  // epoch milliseconds
  int32_t rssi;             // dBm
  uint32_t heap;            // free bytes
  uint64_t uptime_ms;
  const char* firmware;     // 1-64 printable ASCII characters
};

// What the answer to a 200/201 asks of the camera (see docs/api.md, "Directives").
struct Directive {
  bool burst;
  bool duplicate;
  bool snapshot_requested;
  uint32_t next_interval_ms;
};

// Appends to a fixed buffer; remembers if anything did not fit (then nothing is usable).
class Writer {
 public:
  Writer(char* out, size_t cap) : out_(out), cap_(cap), len_(0), ok_(cap > 0) {
    if (ok_) out_[0] = '\0';
  }
  bool ok() const { return ok_; }

  void put(char c) {
    if (!ok_ || len_ + 1 >= cap_) {
      ok_ = false;
      return;
    }
    out_[len_++] = c;
    out_[len_] = '\0';
  }
  void put(const char* s) {
    while (*s) put(*s++);
  }
  void put_u64(uint64_t v) {
    char digits[21];
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(digits[--n]);
  }
  void put_i64(int64_t v) {
    if (v < 0) {
      put('-');
      put_u64(static_cast<uint64_t>(-(v + 1)) + 1);  // also right for INT64_MIN
    } else {
      put_u64(static_cast<uint64_t>(v));
    }
  }
  // Percent-encodes everything but RFC 3986's unreserved characters.
  void put_encoded(const char* s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; ++s) {
      const unsigned char c = static_cast<unsigned char>(*s);
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '.' || c == '_' || c == '~') {
        put(static_cast<char>(c));
      } else {
        put('%');
        put(hex[c >> 4]);
        put(hex[c & 0x0F]);
      }
    }
  }
  // "?name=" for the first parameter, "&name=" after it.
  void param(const char* name) {
    put(len_ == 0 ? '?' : '&');
    put(name);
    put('=');
  }

 private:
  char* out_;
  size_t cap_;
  size_t len_;
  bool ok_;
};

// 16 lower-case hex digits from two random words: a new boot id for every start.
inline bool format_boot_id(uint32_t high, uint32_t low, char* out, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  if (cap < 17) return false;
  for (int i = 0; i < 8; ++i) {
    out[i] = hex[(high >> (28 - 4 * i)) & 0x0F];
    out[8 + i] = hex[(low >> (28 - 4 * i)) & 0x0F];
  }
  out[16] = '\0';
  return true;
}

// "?seq=..&boot=..[&captured_at=..]&rssi=..&heap=..&uptime=..&firmware=.."; false if it
// does not fit in `cap` bytes (the buffer then holds nothing usable).
inline bool build_query(const FrameMeta& m, char* out, size_t cap) {
  Writer w(out, cap);
  w.param("seq");
  w.put_u64(m.seq);
  w.param("boot");
  w.put_encoded(m.boot);
  if (m.has_captured_at) {
    w.param("captured_at");
    w.put_u64(m.captured_at_ms);
  }
  w.param("rssi");
  w.put_i64(m.rssi);
  w.param("heap");
  w.put_u64(m.heap);
  w.param("uptime");
  w.put_u64(m.uptime_ms);
  w.param("firmware");
  w.put_encoded(m.firmware);
  return w.ok();
}

inline const char* skip_space(const char* p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') ++p;
  return p;
}

// The start of the value of "key" in a flat JSON object, or nullptr. Good enough for the
// server's answer (a flat object whose string values hold no quotes), not a JSON parser.
inline const char* json_value(const char* body, const char* key) {
  const size_t n = strlen(key);
  for (const char* p = strchr(body, '"'); p != nullptr; p = strchr(p + 1, '"')) {
    if (strncmp(p + 1, key, n) == 0 && p[1 + n] == '"') {
      const char* q = skip_space(p + 2 + n);
      if (*q == ':') return skip_space(q + 1);
    }
  }
  return nullptr;
}

inline bool json_true(const char* body, const char* key) {
  const char* v = json_value(body, key);
  return v != nullptr && strncmp(v, "true", 4) == 0;
}

inline uint32_t clamp_interval(uint64_t ms) {
  if (ms < MIN_INTERVAL_MS) return MIN_INTERVAL_MS;
  if (ms > MAX_INTERVAL_MS) return MAX_INTERVAL_MS;
  return static_cast<uint32_t>(ms);
}

// Reads the directives of a 200/201 answer; false (and `d` untouched) if the body has no
// usable next_interval_ms.
inline bool parse_response(const char* body, Directive* d) {
  const char* v = json_value(body, "next_interval_ms");
  if (v == nullptr || *v < '0' || *v > '9') return false;
  uint64_t ms = 0;
  for (int digits = 0; *v >= '0' && *v <= '9'; ++v) {
    if (++digits > 12) return false;
    ms = ms * 10 + static_cast<uint64_t>(*v - '0');
  }
  const char* mode = json_value(body, "mode");
  d->burst = mode != nullptr && strncmp(mode, "\"burst\"", 7) == 0;
  d->duplicate = json_true(body, "duplicate");
  d->snapshot_requested = json_true(body, "snapshot_requested");
  d->next_interval_ms = clamp_interval(ms);
  return true;
}

// Worth sending the same frame (same seq) again: no answer at all (HTTPClient's negative
// codes: refused, reset, timeout, ...), 429, or a server-side failure.
inline bool is_retryable(int status) {
  return status <= 0 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

// Retry-After in seconds, or -1 when absent or not a plain number (shelfcam sends seconds).
inline long parse_retry_after(const char* value) {
  if (value == nullptr) return -1;
  const char* p = skip_space(value);
  if (*p < '0' || *p > '9') return -1;
  long seconds = 0;
  for (; *p >= '0' && *p <= '9'; ++p) {
    if (seconds > 1000000L) return 1000000L;
    seconds = seconds * 10 + (*p - '0');
  }
  return seconds;
}

// The pause before retry number `attempt` + 1 (attempt 0 = after the first failure):
// 0.5 s doubling up to 30 s, plus up to 25% jitter from `random`, and never less than
// Retry-After; never more than MAX_WAIT_MS.
inline uint32_t retry_delay_ms(uint8_t attempt, long retry_after_s, uint32_t random) {
  uint32_t backoff = MAX_BACKOFF_MS;
  if (attempt < 16) {
    const uint64_t doubled = static_cast<uint64_t>(FIRST_RETRY_MS) << attempt;
    if (doubled < MAX_BACKOFF_MS) backoff = static_cast<uint32_t>(doubled);
  }
  uint64_t wait = backoff + random % (backoff / 4 + 1);
  if (retry_after_s >= 0 && static_cast<uint64_t>(retry_after_s) * 1000 > wait) {
    wait = static_cast<uint64_t>(retry_after_s) * 1000;
  }
  return wait > MAX_WAIT_MS ? MAX_WAIT_MS : static_cast<uint32_t>(wait);
}

// After an answer that is not worth a retry of the same frame: how long to wait before
// the next frame, beyond the usual interval (0: no extra wait).
inline uint32_t wait_after_refusal_ms(int status, long retry_after_s) {
  uint64_t wait = 0;
  if (status == 401) wait = UNAUTHORIZED_WAIT_MS;
  if (status == 507) wait = INSUFFICIENT_STORAGE_WAIT_MS;
  if (retry_after_s >= 0 && static_cast<uint64_t>(retry_after_s) * 1000 > wait) {
    wait = static_cast<uint64_t>(retry_after_s) * 1000;
  }
  return wait > MAX_WAIT_MS ? MAX_WAIT_MS : static_cast<uint32_t>(wait);
}

}  // namespace shelfcam

#endif  // SHELFCAM_PROTOCOL_H
