// shelfcam example camera for the AI-Thinker ESP32-CAM.
//
// Takes a JPEG (VGA by default), POSTs it raw to shelfcam's /api/v1/ingest/frame with its
// token in X-API-Key and seq, boot, captured_at, rssi, heap, uptime and firmware in the
// query string, and follows the answer: waits next_interval_ms (short while the server
// says "burst"), sends one UXGA frame after snapshot_requested, retries the same seq with
// exponential backoff on connection errors, 429, 500 and 503 (never sooner than
// Retry-After). The contract is docs/api.md in the shelfcam repository.
//
// Written against the documented APIs of arduino-esp32 (esp_camera.h, WiFi.h,
// HTTPClient.h) but NOT compiled in shelfcam's CI (there is no ESP32 toolchain there):
// build it and try it on hardware before you rely on it. See README.md.

#include <Arduino.h>
#include <HTTPClient.h>
#include <WiFi.h>
#include <esp_camera.h>
#include <esp_random.h>
#include <esp_timer.h>
#include <sys/time.h>
#include <time.h>

#if __has_include("config.h")
#include "config.h"
#else
#error "Copy config.h.example to config.h and fill in Wi-Fi, server URL and token"
#endif

#include "shelfcam_protocol.h"

#ifndef NTP_SERVER
#define NTP_SERVER "pool.ntp.org"
#endif
#ifndef FRAME_SIZE
#define FRAME_SIZE FRAMESIZE_VGA
#endif
#ifndef SNAPSHOT_FRAME_SIZE
#define SNAPSHOT_FRAME_SIZE FRAMESIZE_UXGA
#endif
#ifndef SNAPSHOT_HIGH_RES
#define SNAPSHOT_HIGH_RES 1
#endif
#ifndef JPEG_QUALITY
#define JPEG_QUALITY 12
#endif
#ifndef DEFAULT_INTERVAL_MS
#define DEFAULT_INTERVAL_MS 1000
#endif

static const char FIRMWARE[] = "shelfcam-esp32cam/0.1.0";
static const uint32_t IDLE_INTERVAL_MS = DEFAULT_INTERVAL_MS;

static const uint8_t MAX_ATTEMPTS = 6;               // then the frame is dropped
static const int32_t HTTP_CONNECT_TIMEOUT_MS = 5000;
static const uint16_t HTTP_TIMEOUT_MS = 10000;       // a dead server costs at most this
static const uint32_t WIFI_CONNECT_TIMEOUT_MS = 20000;
static const uint32_t RESTART_AFTER_OFFLINE_MS = 5UL * 60UL * 1000UL;
static const uint8_t RESTART_AFTER_CAMERA_FAILURES = 10;
static const uint8_t MAX_GRABS = 4;                  // frames read to get one of the right size
static const time_t CLOCK_SET_AFTER = 1700000000;    // 2023-11-14: earlier means NTP not synced

// AI-Thinker ESP32-CAM (OV2640) pins.
static const int PIN_PWDN = 32, PIN_RESET = -1, PIN_XCLK = 0, PIN_SIOD = 26, PIN_SIOC = 27;
static const int PIN_D7 = 35, PIN_D6 = 34, PIN_D5 = 39, PIN_D4 = 36;
static const int PIN_D3 = 21, PIN_D2 = 19, PIN_D1 = 18, PIN_D0 = 5;
static const int PIN_VSYNC = 25, PIN_HREF = 23, PIN_PCLK = 22;

static char bootId[17];          // new at every start: seq counts from 0 again
static uint32_t nextSeq = 0;
static bool havePsram = false;
static uint32_t intervalMs = IDLE_INTERVAL_MS;
static bool burst = false;
static bool snapshotNext = false;
static uint32_t lastCaptureMs = 0;
static uint32_t offlineSinceMs = 0;
static uint8_t cameraFailures = 0;

// Gives the frame buffer back to the camera driver on every way out of a scope.
class FrameGuard {
 public:
  explicit FrameGuard(camera_fb_t* fb) : fb_(fb) {}
  ~FrameGuard() {
    if (fb_ != nullptr) esp_camera_fb_return(fb_);
  }
  camera_fb_t* get() const { return fb_; }
  FrameGuard(const FrameGuard&) = delete;
  FrameGuard& operator=(const FrameGuard&) = delete;

 private:
  camera_fb_t* fb_;
};

static bool initCamera() {
  camera_config_t c = {};
  c.pin_pwdn = PIN_PWDN;
  c.pin_reset = PIN_RESET;
  c.pin_xclk = PIN_XCLK;
  c.pin_sccb_sda = PIN_SIOD;
  c.pin_sccb_scl = PIN_SIOC;
  c.pin_d7 = PIN_D7;
  c.pin_d6 = PIN_D6;
  c.pin_d5 = PIN_D5;
  c.pin_d4 = PIN_D4;
  c.pin_d3 = PIN_D3;
  c.pin_d2 = PIN_D2;
  c.pin_d1 = PIN_D1;
  c.pin_d0 = PIN_D0;
  c.pin_vsync = PIN_VSYNC;
  c.pin_href = PIN_HREF;
  c.pin_pclk = PIN_PCLK;
  c.xclk_freq_hz = 20000000;
  c.ledc_timer = LEDC_TIMER_0;
  c.ledc_channel = LEDC_CHANNEL_0;
  c.pixel_format = PIXFORMAT_JPEG;
  c.jpeg_quality = JPEG_QUALITY;
  havePsram = psramFound();
  if (havePsram) {
    // Buffers are sized at init for the largest frame we will ask for; two of them with
    // GRAB_LATEST so a frame is fresh, not one queued since the previous upload.
    c.frame_size = SNAPSHOT_HIGH_RES ? SNAPSHOT_FRAME_SIZE : FRAME_SIZE;
    c.fb_count = 2;
    c.fb_location = CAMERA_FB_IN_PSRAM;
    c.grab_mode = CAMERA_GRAB_LATEST;
  } else {
    Serial.println("[camera] no PSRAM: one buffer, no high-resolution snapshots");
    c.frame_size = FRAME_SIZE;
    c.fb_count = 1;
    c.fb_location = CAMERA_FB_IN_DRAM;
    c.grab_mode = CAMERA_GRAB_WHEN_EMPTY;
  }
  const esp_err_t err = esp_camera_init(&c);
  if (err != ESP_OK) {
    Serial.printf("[camera] init failed: 0x%x\n", static_cast<unsigned>(err));
    return false;
  }
  sensor_t* s = esp_camera_sensor_get();
  if (s == nullptr || s->set_framesize(s, FRAME_SIZE) != 0) {
    Serial.println("[camera] could not set the frame size");
    return false;
  }
  return true;
}

static void setFrameSize(framesize_t size) {
  sensor_t* s = esp_camera_sensor_get();
  if (s == nullptr || s->set_framesize(s, size) != 0) {
    Serial.println("[camera] could not change the frame size");
  }
}

// A fresh frame of the given size, or nullptr. Frames of another size (still queued after
// a size change) and, with a single buffer, the frame queued since the last capture are
// given back first. esp_camera_fb_get() itself gives up after a few seconds.
static camera_fb_t* grabFrame(framesize_t size) {
  const uint16_t width = resolution[size].width;
  if (!havePsram) {
    camera_fb_t* stale = esp_camera_fb_get();
    if (stale != nullptr) esp_camera_fb_return(stale);
  }
  for (uint8_t i = 0; i < MAX_GRABS; ++i) {
    camera_fb_t* fb = esp_camera_fb_get();
    if (fb == nullptr) continue;
    if (fb->format == PIXFORMAT_JPEG && fb->width == width && fb->len > 0) return fb;
    esp_camera_fb_return(fb);
  }
  return nullptr;
}

static bool ensureWifi() {
  if (WiFi.status() == WL_CONNECTED) {
    offlineSinceMs = 0;
    return true;
  }
  if (offlineSinceMs == 0) offlineSinceMs = millis() | 1;
  Serial.println("[wifi] not connected, reconnecting");
  WiFi.reconnect();
  const uint32_t start = millis();
  while (WiFi.status() != WL_CONNECTED && millis() - start < WIFI_CONNECT_TIMEOUT_MS) {
    delay(250);
  }
  if (WiFi.status() == WL_CONNECTED) {
    offlineSinceMs = 0;
    return true;
  }
  if (millis() - offlineSinceMs > RESTART_AFTER_OFFLINE_MS) {
    Serial.println("[wifi] offline for minutes: restarting");
    ESP.restart();
  }
  return false;
}

// Epoch milliseconds, if NTP has set the clock.
static bool epochMs(uint64_t* out) {
  struct timeval tv;
  if (gettimeofday(&tv, nullptr) != 0 || tv.tv_sec < CLOCK_SET_AFTER) return false;
  *out = static_cast<uint64_t>(tv.tv_sec) * 1000ULL + static_cast<uint64_t>(tv.tv_usec / 1000);
  return true;
}

// One POST; returns the HTTP status, or HTTPClient's negative error code.
static int postOnce(const camera_fb_t* fb, const char* query, String* body, String* retryAfter) {
  HTTPClient http;
  String url = String(SHELFCAM_URL) + shelfcam::INGEST_PATH + query;
  if (!http.begin(url)) return HTTPC_ERROR_CONNECTION_REFUSED;
  http.setConnectTimeout(HTTP_CONNECT_TIMEOUT_MS);
  http.setTimeout(HTTP_TIMEOUT_MS);
  http.setReuse(false);
  const char* keep[] = {"Retry-After"};
  http.collectHeaders(keep, 1);
  http.addHeader("X-API-Key", SHELFCAM_TOKEN);
  http.addHeader("Content-Type", "image/jpeg");
  const int status = http.POST(fb->buf, fb->len);
  if (status > 0) {
    *retryAfter = http.header("Retry-After");
    *body = http.getString();
  }
  http.end();
  return status;
}

// Sends one frame, retrying the same seq; true once the server has it (201 or 200).
static bool upload(const camera_fb_t* fb, const shelfcam::FrameMeta& meta,
                   shelfcam::Directive* directive, uint32_t* extraWaitMs) {
  char query[256];
  if (!shelfcam::build_query(meta, query, sizeof query)) {
    Serial.println("[upload] query too long");
    return false;
  }
  for (uint8_t attempt = 0; attempt < MAX_ATTEMPTS; ++attempt) {
    String body;
    String retryAfter;
    const int status = ensureWifi() ? postOnce(fb, query, &body, &retryAfter)
                                    : HTTPC_ERROR_NOT_CONNECTED;
    if (status == 200 || status == 201) {
      if (!shelfcam::parse_response(body.c_str(), directive)) {
        Serial.printf("[upload] seq=%lu stored, but the answer has no directives\n",
                      static_cast<unsigned long>(meta.seq));
      }
      return true;
    }
    const long after = shelfcam::parse_retry_after(retryAfter.c_str());
    if (!shelfcam::is_retryable(status)) {
      Serial.printf("[upload] seq=%lu refused: %d %s\n", static_cast<unsigned long>(meta.seq),
                    status, body.c_str());
      *extraWaitMs = shelfcam::wait_after_refusal_ms(status, after);
      return false;
    }
    if (attempt + 1 == MAX_ATTEMPTS) break;
    const uint32_t wait = shelfcam::retry_delay_ms(attempt, after, esp_random());
    Serial.printf("[upload] seq=%lu failed (%d %s), retry in %lu ms\n",
                  static_cast<unsigned long>(meta.seq), status,
                  status < 0 ? HTTPClient::errorToString(status).c_str() : body.c_str(),
                  static_cast<unsigned long>(wait));
    delay(wait);
  }
  Serial.printf("[upload] seq=%lu dropped after %u attempts\n",
                static_cast<unsigned long>(meta.seq), static_cast<unsigned>(MAX_ATTEMPTS));
  return false;
}

// Captures and sends one frame; the frame buffer is given back before this returns.
static bool captureAndSend(framesize_t size, shelfcam::Directive* directive,
                           uint32_t* extraWaitMs) {
  lastCaptureMs = millis();
  FrameGuard frame(grabFrame(size));
  if (frame.get() == nullptr) {
    Serial.println("[camera] no frame");
    if (++cameraFailures >= RESTART_AFTER_CAMERA_FAILURES) {
      Serial.println("[camera] keeps failing: restarting");
      ESP.restart();
    }
    return false;
  }
  cameraFailures = 0;
  shelfcam::FrameMeta meta = {};
  meta.seq = nextSeq++;  // a new frame, a new seq; retries of it keep this one
  meta.boot = bootId;
  meta.has_captured_at = epochMs(&meta.captured_at_ms);
  meta.rssi = WiFi.RSSI();
  meta.heap = ESP.getFreeHeap();
  meta.uptime_ms = static_cast<uint64_t>(esp_timer_get_time() / 1000);
  meta.firmware = FIRMWARE;
  return upload(frame.get(), meta, directive, extraWaitMs);
}

void setup() {
  Serial.begin(115200);
  Serial.println();
  if (!initCamera()) {
    delay(10000);
    ESP.restart();
  }
  WiFi.mode(WIFI_STA);
  WiFi.setSleep(false);  // modem sleep adds latency and drops with the camera running
  WiFi.setAutoReconnect(true);
  WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
  const uint32_t start = millis();
  while (WiFi.status() != WL_CONNECTED && millis() - start < WIFI_CONNECT_TIMEOUT_MS) {
    delay(250);
  }
  // With Wi-Fi on, esp_random() draws on radio noise; two words make the boot id.
  const uint32_t high = esp_random();
  shelfcam::format_boot_id(high, esp_random(), bootId, sizeof bootId);
  configTime(0, 0, NTP_SERVER);  // UTC; captured_at is sent once this has synced
  Serial.printf("[boot] id=%s wifi=%s psram=%s\n", bootId,
                WiFi.status() == WL_CONNECTED ? WiFi.localIP().toString().c_str() : "down",
                havePsram ? "yes" : "no");
}

void loop() {
  // The interval runs from the previous capture, so the upload's time is part of it.
  const uint32_t sinceCapture = millis() - lastCaptureMs;
  if (lastCaptureMs != 0 && sinceCapture < intervalMs) delay(intervalMs - sinceCapture);

  const bool big = snapshotNext && havePsram && SNAPSHOT_HIGH_RES;
  snapshotNext = false;
  if (big) setFrameSize(SNAPSHOT_FRAME_SIZE);

  shelfcam::Directive directive = {false, false, false, IDLE_INTERVAL_MS};
  uint32_t extraWaitMs = 0;
  const bool sent = captureAndSend(big ? SNAPSHOT_FRAME_SIZE : FRAME_SIZE, &directive,
                                   &extraWaitMs);
  if (big) setFrameSize(FRAME_SIZE);

  if (!sent) {
    // No directives to follow: back to the idle pace (never keep bursting blind).
    burst = false;
    intervalMs = extraWaitMs > IDLE_INTERVAL_MS ? extraWaitMs : IDLE_INTERVAL_MS;
    return;
  }
  if (directive.burst != burst) {
    Serial.printf("[mode] %s, every %lu ms\n", directive.burst ? "burst" : "idle",
                  static_cast<unsigned long>(directive.next_interval_ms));
  }
  burst = directive.burst;
  intervalMs = directive.next_interval_ms;
  // The server kept the frame just sent as the snapshot; a full-resolution frame follows.
  snapshotNext = directive.snapshot_requested && !big;
}
