// Hashing (md5, sha1, sha224, sha256, sha384, sha512 through OpenSSL's EVP, lower-case hex) and
// encoding (encode/decode with "base64" or "hex"). Hashes and encodings take strings; other
// values are hashed as their text (numbers as JSON), as eKuiper does.
#include <openssl/evp.h>

#include "rules/functions_internal.h"

namespace verge::rules::fn {
namespace {

using Args = std::span<const Value>;

constexpr char kHex[] = "0123456789abcdef";

bool digest(Args a, CallContext& ctx, Value& out, std::string_view name, const EVP_MD* md) {
  if (a[0].is_null()) {
    out = Value();
    return true;
  }
  if (a[0].is_array() || a[0].is_object()) return type_error(ctx, name, "a string", a[0]);
  const std::string text = to_text(a[0]);
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (md == nullptr || EVP_Digest(text.data(), text.size(), buf, &n, md, nullptr) != 1) {
    return fail(ctx, name, "digest not available");
  }
  std::string hex;
  hex.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) {
    hex += kHex[buf[i] >> 4];
    hex += kHex[buf[i] & 0x0f];
  }
  out = Value(std::move(hex));
  return true;
}

bool f_md5(Args a, CallContext& c, Value& o) { return digest(a, c, o, "md5", EVP_md5()); }
bool f_sha1(Args a, CallContext& c, Value& o) { return digest(a, c, o, "sha1", EVP_sha1()); }
bool f_sha224(Args a, CallContext& c, Value& o) { return digest(a, c, o, "sha224", EVP_sha224()); }
bool f_sha256(Args a, CallContext& c, Value& o) { return digest(a, c, o, "sha256", EVP_sha256()); }
bool f_sha384(Args a, CallContext& c, Value& o) { return digest(a, c, o, "sha384", EVP_sha384()); }
bool f_sha512(Args a, CallContext& c, Value& o) { return digest(a, c, o, "sha512", EVP_sha512()); }

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // standard and URL-safe alphabets
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Standard or URL-safe base64, padding optional; nullopt on anything else.
std::optional<std::string> unbase64(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool coding(Args a, CallContext& ctx, Value& out, bool encode) {
  const std::string_view name = encode ? "encode" : "decode";
  if (any_null(a)) {
    out = Value();
    return true;
  }
  if (!a[1].is_string()) return type_error(ctx, name, "an encoding name string", a[1]);
  const std::string& scheme = a[1].as_string();
  if (!a[0].is_string()) return type_error(ctx, name, "a string", a[0]);
  const std::string& s = a[0].as_string();
  if (scheme == "base64") {
    if (encode) {
      out = Value(base64(s));
      return true;
    }
    auto d = unbase64(s);
    if (!d) return fail(ctx, name, "invalid base64");
    out = Value(std::move(*d));
    return true;
  }
  if (scheme == "hex") {
    std::string r;
    if (encode) {
      r.reserve(s.size() * 2);
      for (char c : s) {
        r += kHex[static_cast<unsigned char>(c) >> 4];
        r += kHex[static_cast<unsigned char>(c) & 0x0f];
      }
    } else {
      if (s.size() % 2 != 0) return fail(ctx, name, "invalid hex");
      r.reserve(s.size() / 2);
      for (size_t i = 0; i < s.size(); i += 2) {
        const int hi = hex_value(s[i]);
        const int lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) return fail(ctx, name, "invalid hex");
        r += static_cast<char>(hi << 4 | lo);
      }
    }
    out = Value(std::move(r));
    return true;
  }
  return fail(ctx, name, "unknown encoding '" + scheme + "' (expected base64 or hex)");
}

bool f_encode(Args a, CallContext& c, Value& o) { return coding(a, c, o, true); }
bool f_decode(Args a, CallContext& c, Value& o) { return coding(a, c, o, false); }

const ScalarFunction kHash[] = {
    {"md5", 1, 1, f_md5},       {"sha1", 1, 1, f_sha1},     {"sha224", 1, 1, f_sha224},
    {"sha256", 1, 1, f_sha256}, {"sha384", 1, 1, f_sha384}, {"sha512", 1, 1, f_sha512},
    {"encode", 2, 2, f_encode}, {"decode", 2, 2, f_decode},
};

}  // namespace

std::span<const ScalarFunction> hash_functions() { return kHash; }

}  // namespace verge::rules::fn
