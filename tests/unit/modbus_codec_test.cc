// The Modbus codec: PDUs, MBAP and RTU frames, point addresses, register conversion and the
// read plan, against byte vectors from the specification and hand-computed ones.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "devices/adapters/modbus/frame.h"
#include "devices/adapters/modbus/pdu.h"
#include "devices/adapters/modbus/registers.h"

namespace verge::devices::modbus {
namespace {

std::string hex(std::string_view h) {
  std::string out;
  std::string digits;
  for (char c : h) {
    if (c != ' ') digits += c;
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out += static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (!out.empty()) out += ' ';
    out += kHex[u >> 4];
    out += kHex[u & 15];
  }
  return out;
}

std::string pdu_of(const Request& req) {
  std::string out;
  encode_request(req, out);
  return out;
}

PointSpec point(DataType type, bool byte_swap = false, bool word_swap = false,
                uint16_t length = 0) {
  PointSpec p;
  p.name = "p";
  p.type = type;
  p.byte_swap = byte_swap;
  p.word_swap = word_swap;
  p.length = length;
  return p;
}

PointAddress holding(uint16_t offset) { return PointAddress{Table::HoldingRegister, offset, -1}; }

// ---- PDU ----

TEST(ModbusPdu, EncodesRequests) {
  EXPECT_EQ(to_hex(pdu_of(read_request(Table::HoldingRegister, 0, 10))), "03 00 00 00 0A");
  EXPECT_EQ(to_hex(pdu_of(read_request(Table::Coil, 19, 19))), "01 00 13 00 13");
  EXPECT_EQ(to_hex(pdu_of(read_request(Table::DiscreteInput, 196, 22))), "02 00 C4 00 16");
  EXPECT_EQ(to_hex(pdu_of(read_request(Table::InputRegister, 8, 1))), "04 00 08 00 01");
  const std::vector<uint16_t> one{3};
  EXPECT_EQ(to_hex(pdu_of(write_registers_request(1, one))), "06 00 01 00 03");
  EXPECT_EQ(to_hex(pdu_of(write_registers_request(1, one, true))), "10 00 01 00 01 02 00 03");
  const std::vector<uint16_t> two{0x000A, 0x0102};
  EXPECT_EQ(to_hex(pdu_of(write_registers_request(1, two))), "10 00 01 00 02 04 00 0A 01 02");
  const std::vector<uint8_t> on{1};
  EXPECT_EQ(to_hex(pdu_of(write_coils_request(172, on))), "05 00 AC FF 00");
  const std::vector<uint8_t> off{0};
  EXPECT_EQ(to_hex(pdu_of(write_coils_request(172, off))), "05 00 AC 00 00");
  // The specification's example: coils 20..29 = 1 0 1 1 0 0 1 1 1 0 -> CD 01.
  const std::vector<uint8_t> ten{1, 0, 1, 1, 0, 0, 1, 1, 1, 0};
  EXPECT_EQ(to_hex(pdu_of(write_coils_request(19, ten))), "0F 00 13 00 0A 02 CD 01");
}

TEST(ModbusPdu, DecodesReadResponses) {
  auto regs =
      decode_response(hex("03 06 02 2B 00 00 00 64"), read_request(Table::HoldingRegister, 107, 3));
  ASSERT_TRUE(regs) << regs.error().message;
  EXPECT_EQ(regs->registers, (std::vector<uint16_t>{0x022B, 0, 0x64}));
  EXPECT_EQ(regs->exception, 0);
  // Spec example: coils 20..38, 19 bits in 3 bytes, LSB first.
  auto bits = decode_response(hex("01 03 CD 6B 05"), read_request(Table::Coil, 19, 19));
  ASSERT_TRUE(bits) << bits.error().message;
  const std::vector<uint8_t> want{1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1};
  EXPECT_EQ(bits->bits, want);
}

TEST(ModbusPdu, DecodesWriteEchoesAndExceptions) {
  const std::vector<uint16_t> one{3};
  const Request w6 = write_registers_request(1, one);
  EXPECT_TRUE(decode_response(hex("06 00 01 00 03"), w6));
  const std::vector<uint16_t> two{1, 2};
  const Request w16 = write_registers_request(1, two);
  EXPECT_TRUE(decode_response(hex("10 00 01 00 02"), w16));
  const std::vector<uint8_t> on{1};
  EXPECT_TRUE(decode_response(hex("05 00 AC FF 00"), write_coils_request(172, on)));
  auto ex = decode_response(hex("83 02"), read_request(Table::HoldingRegister, 0, 1));
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->exception, 2);
  EXPECT_EQ(ex->function, 0x83);
  EXPECT_EQ(exception_text(2), "exception 2: illegal data address");
  EXPECT_EQ(exception_text(99), "exception 99");
}

TEST(ModbusPdu, RefusesMalformedResponses) {
  const Request read10 = read_request(Table::HoldingRegister, 0, 10);
  std::string good = hex("03 14") + std::string(20, '\0');
  ASSERT_TRUE(decode_response(good, read10));
  struct Case {
    std::string pdu;
    const char* why;
  };
  const std::vector<Case> cases = {
      {"", "empty"},
      {hex("03"), "no byte count"},
      {good.substr(0, 21), "short data"},
      {good + '\0', "trailing byte"},
      {hex("03 12") + std::string(18, '\0'), "wrong byte count"},
      {hex("04 14") + std::string(20, '\0'), "wrong function"},
      {hex("83"), "exception without code"},
      {hex("83 02 00"), "exception too long"},
      {hex("83 00"), "exception code 0"},
      {hex("84 02"), "exception of another function"},
  };
  for (const auto& c : cases) {
    auto r = decode_response(c.pdu, read10);
    EXPECT_FALSE(r) << c.why;
    if (!r) {
      EXPECT_FALSE(r.error().message.empty()) << c.why;
    }
  }
  const std::vector<uint16_t> one{3};
  const Request w6 = write_registers_request(1, one);
  EXPECT_FALSE(decode_response(hex("06 00 02 00 03"), w6));  // address mismatch
  EXPECT_FALSE(decode_response(hex("06 00 01 00 04"), w6));  // value mismatch
  EXPECT_FALSE(decode_response(hex("06 00 01 00"), w6));     // short
  const std::vector<uint16_t> two{1, 2};
  EXPECT_FALSE(decode_response(hex("10 00 01 00 03"), write_registers_request(1, two)));
  const std::vector<uint8_t> on{1};
  EXPECT_FALSE(decode_response(hex("05 00 AC 00 00"), write_coils_request(172, on)));
}

TEST(ModbusPdu, ServerSideRoundTrip) {
  const std::vector<uint16_t> regs{7, 8, 9};
  const std::vector<uint8_t> bits{1, 1, 0, 1, 0, 0, 0, 0, 1};
  const std::vector<Request> reqs = {read_request(Table::HoldingRegister, 5, 125),
                                     read_request(Table::Coil, 0, 2000),
                                     write_registers_request(9, regs), write_coils_request(3, bits),
                                     write_coils_request(3, std::vector<uint8_t>{0})};
  for (const Request& req : reqs) {
    auto back = decode_request(pdu_of(req));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->function, req.function);
    EXPECT_EQ(back->address, req.address);
    EXPECT_EQ(back->count, req.count);
    EXPECT_EQ(back->registers, req.registers);
    EXPECT_EQ(back->bits, req.bits);
    // The server's answer decodes as the client expects.
    Response resp;
    if (req.function == kReadHoldingRegisters) resp.registers.assign(req.count, 0x1234);
    if (req.function == kReadCoils) resp.bits.assign(req.count, 1);
    std::string out;
    encode_response(*back, resp, out);
    auto decoded = decode_response(out, req);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->registers, resp.registers);
    EXPECT_EQ(decoded->bits, resp.bits);
  }
  std::string ex;
  encode_exception(kReadInputRegisters, 3, ex);
  EXPECT_EQ(to_hex(ex), "84 03");
}

TEST(ModbusPdu, RefusesBadRequests) {
  EXPECT_FALSE(decode_request(""));
  auto unknown = decode_request(hex("2B 0E 01 00"));
  ASSERT_FALSE(unknown);
  EXPECT_FALSE(is_supported_function(0x2B));
  EXPECT_TRUE(is_supported_function(kWriteMultipleRegisters));
  EXPECT_FALSE(decode_request(hex("03 00 00 00 00")));  // quantity 0
  EXPECT_FALSE(decode_request(hex("03 00 00 00 7E")));  // 126 registers
  EXPECT_TRUE(decode_request(hex("03 00 00 00 7D")));   // 125
  EXPECT_FALSE(decode_request(hex("01 00 00 07 D1")));  // 2001 bits
  EXPECT_FALSE(decode_request(hex("03 00 00 00")));     // short
  EXPECT_FALSE(decode_request(hex("03 00 00 00 01 00")));
  EXPECT_FALSE(decode_request(hex("05 00 01 12 34")));              // coil value not FF00/0000
  EXPECT_FALSE(decode_request(hex("10 00 01 00 02 03 00 0A 01")));  // byte count 3 for 2 regs
  EXPECT_FALSE(decode_request(hex("10 00 01 00 02 04 00 0A 01")));  // data short
  EXPECT_FALSE(decode_request(hex("10 00 01 00 7C F8")));           // 124 registers
  EXPECT_FALSE(decode_request(hex("0F 00 01 00 0A 01 FF")));        // 10 coils in 1 byte
}

// ---- frames ----

TEST(ModbusFrame, TcpRoundTripAndPartial) {
  std::string out;
  frame_tcp(0x1234, 7, hex("03 00 00 00 0A"), out);
  EXPECT_EQ(to_hex(out), "12 34 00 00 00 06 07 03 00 00 00 0A");
  out += "\x01";  // the start of the next frame
  for (size_t n = 0; n < 12; ++n) {
    auto partial = parse_tcp_frame(std::string_view(out).substr(0, n));
    ASSERT_TRUE(partial) << n;
    EXPECT_FALSE(partial->has_value()) << n;
  }
  auto f = parse_tcp_frame(out);
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ((*f)->transaction, 0x1234);
  EXPECT_EQ((*f)->unit, 7);
  EXPECT_EQ((*f)->size, 12u);
  EXPECT_EQ(to_hex((*f)->pdu), "03 00 00 00 0A");
}

TEST(ModbusFrame, TcpRefusesBadHeaders) {
  EXPECT_FALSE(parse_tcp_frame(hex("00 01 00 01")));           // protocol id 1
  EXPECT_FALSE(parse_tcp_frame(hex("00 01 00 00 00 00")));     // length 0
  EXPECT_FALSE(parse_tcp_frame(hex("00 01 00 00 00 01 01")));  // unit only
  EXPECT_FALSE(parse_tcp_frame(hex("00 01 00 00 00 FF")));     // 255: beyond a PDU
  EXPECT_FALSE(parse_tcp_frame(hex("00 01 00 00 01 00")));
  auto max = parse_tcp_frame(hex("00 01 00 00 00 FE"));  // 254: waits for the bytes
  ASSERT_TRUE(max);
  EXPECT_FALSE(max->has_value());
}

TEST(ModbusFrame, RtuKnownVectors) {
  std::string out;
  frame_rtu(1, pdu_of(read_request(Table::HoldingRegister, 0, 10)), out);
  EXPECT_EQ(to_hex(out), "01 03 00 00 00 0A C5 CD");
  out.clear();
  frame_rtu(1, hex("06 00 01 00 03"), out);
  EXPECT_EQ(to_hex(out), "01 06 00 01 00 03 98 0B");
  const std::string frame = hex("01 03 00 00 00 0A C5 CD");
  auto req = parse_rtu_request(frame);  // the frame's pdu points into `frame`
  ASSERT_TRUE(req && req->has_value());
  EXPECT_EQ((*req)->unit, 1);
  EXPECT_EQ(to_hex((*req)->pdu), "03 00 00 00 0A");
  EXPECT_EQ(crc16(""), 0xFFFF);
}

TEST(ModbusFrame, RtuResponsesPartialBadCrcAndException) {
  const Request read2 = read_request(Table::HoldingRegister, 0, 2);
  const std::string frame = hex("01 03 04 00 01 00 02 2A 32");
  for (size_t n = 0; n < frame.size(); ++n) {
    auto partial = parse_rtu_response(frame.substr(0, n), read2);
    ASSERT_TRUE(partial) << n;
    EXPECT_FALSE(partial->has_value()) << n;
  }
  const std::string followed = frame + "\x01\x03";  // the pdu view points into it
  auto f = parse_rtu_response(followed, read2);
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ((*f)->size, 9u);
  auto resp = decode_response((*f)->pdu, read2);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->registers, (std::vector<uint16_t>{1, 2}));

  std::string bad = frame;
  bad[8] = static_cast<char>(bad[8] ^ 1);
  auto crc = parse_rtu_response(bad, read2);
  ASSERT_FALSE(crc);
  EXPECT_NE(crc.error().message.find("CRC"), std::string::npos);
  EXPECT_FALSE(parse_rtu_response(hex("01 03 06"), read2));  // byte count for 3 registers
  EXPECT_FALSE(parse_rtu_response(hex("01 04"), read2));     // another function

  std::string ex;
  frame_rtu(1, hex("83 02"), ex);
  ASSERT_EQ(ex.size(), 5u);
  auto exf = parse_rtu_response(ex, read2);
  ASSERT_TRUE(exf && exf->has_value());
  EXPECT_EQ(decode_response((*exf)->pdu, read2)->exception, 2);

  const std::vector<uint16_t> regs{5, 6};
  const Request w = write_registers_request(0, regs);
  std::string wreq;
  frame_rtu(9, pdu_of(w), wreq);
  auto parsed = parse_rtu_request(wreq);
  ASSERT_TRUE(parsed && parsed->has_value());
  EXPECT_EQ((*parsed)->size, wreq.size());
  auto partial = parse_rtu_request(wreq.substr(0, wreq.size() - 1));
  ASSERT_TRUE(partial);
  EXPECT_FALSE(partial->has_value());
  std::string echo;
  frame_rtu(9, hex("10 00 00 00 02"), echo);
  auto wf = parse_rtu_response(echo, w);
  ASSERT_TRUE(wf && wf->has_value());
  EXPECT_TRUE(decode_response((*wf)->pdu, w));
  EXPECT_FALSE(parse_rtu_request(hex("01 2B 0E 01")));  // unknown function: no length
}

// ---- addresses ----

TEST(ModbusAddress, Forms) {
  struct Case {
    const char* text;
    Table table;
    uint16_t offset;
    int8_t bit;
  };
  const std::vector<Case> cases = {
      {"holding:0", Table::HoldingRegister, 0, -1},
      {"holding:65535", Table::HoldingRegister, 65535, -1},
      {"input:100", Table::InputRegister, 100, -1},
      {"coil:5", Table::Coil, 5, -1},
      {"discrete:7", Table::DiscreteInput, 7, -1},
      {"holding:10.3", Table::HoldingRegister, 10, 3},
      {"input:2.15", Table::InputRegister, 2, 15},
      {"00001", Table::Coil, 0, -1},
      {"09999", Table::Coil, 9998, -1},
      {"10001", Table::DiscreteInput, 0, -1},
      {"30001", Table::InputRegister, 0, -1},
      {"40001", Table::HoldingRegister, 0, -1},
      {"40011.2", Table::HoldingRegister, 10, 2},
      {"465536", Table::HoldingRegister, 65535, -1},
      {"300010", Table::InputRegister, 9, -1},
  };
  for (const auto& c : cases) {
    auto a = parse_address(c.text);
    ASSERT_TRUE(a) << c.text << ": " << a.error().message;
    EXPECT_EQ(a->table, c.table) << c.text;
    EXPECT_EQ(a->offset, c.offset) << c.text;
    EXPECT_EQ(a->bit, c.bit) << c.text;
  }
}

TEST(ModbusAddress, ErrorsSayWhatIsWrong) {
  struct Case {
    const char* text;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"", "empty"},
      {"holdng:1", "unknown table 'holdng'"},
      {"holding:65536", "0..65535"},
      {"holding:-1", "0..65535"},
      {"holding:", "0..65535"},
      {"holding:1x", "0..65535"},
      {"holding:1.16", "0..15"},
      {"holding:1.", "without a bit"},
      {"coil:1.2", "register table"},
      {"40000", "1..9999"},
      {"465537", "1..65536"},
      {"50001", "starts with 5"},
      {"4001", "5- or 6-digit"},
      {"4000001", "5- or 6-digit"},
  };
  for (const auto& c : cases) {
    auto a = parse_address(c.text);
    ASSERT_FALSE(a) << c.text;
    EXPECT_NE(a.error().message.find(c.says), std::string::npos)
        << c.text << ": " << a.error().message;
  }
}

TEST(ModbusAddress, SpanAndCheckPoint) {
  const PointAddress h = holding(0);
  EXPECT_EQ(span_of(point(DataType::Int16), h), 1);
  EXPECT_EQ(span_of(point(DataType::Uint32), h), 2);
  EXPECT_EQ(span_of(point(DataType::Float64), h), 4);
  EXPECT_EQ(span_of(point(DataType::String, false, false, 10), h), 5);
  EXPECT_EQ(span_of(point(DataType::String, false, false, 7), h), 4);
  const PointAddress coil{Table::Coil, 3, -1};
  EXPECT_EQ(span_of(point(DataType::Bool), coil), 1);

  EXPECT_TRUE(check_point(point(DataType::Bool), coil));
  EXPECT_FALSE(check_point(point(DataType::Int16), coil));
  const PointAddress bit{Table::HoldingRegister, 1, 4};
  EXPECT_TRUE(check_point(point(DataType::Bool), bit));
  EXPECT_FALSE(check_point(point(DataType::Uint16), bit));
  EXPECT_FALSE(check_point(point(DataType::String), h));  // no length
  EXPECT_FALSE(check_point(point(DataType::String, false, false, 252), h));
  EXPECT_TRUE(check_point(point(DataType::String, false, false, 250), h));
  PointSpec w = point(DataType::Int16);
  w.access = Access::ReadWrite;
  EXPECT_TRUE(check_point(w, h));
  EXPECT_FALSE(check_point(w, PointAddress{Table::InputRegister, 0, -1}));
  PointSpec wb = point(DataType::Bool);
  wb.access = Access::Write;
  EXPECT_FALSE(check_point(wb, PointAddress{Table::DiscreteInput, 0, -1}));
  EXPECT_FALSE(check_point(wb, bit));
  EXPECT_TRUE(check_point(wb, coil));
  auto past = check_point(point(DataType::Float32), holding(65535));
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("65535"), std::string::npos);
}

// ---- register conversion ----

TEST(ModbusRegisters, Float32InEveryOrder) {
  struct Case {
    bool byte_swap, word_swap;
    std::vector<uint16_t> regs;
  };
  const std::vector<Case> cases = {
      {false, false, {0x42F6, 0xE979}},  // ABCD
      {false, true, {0xE979, 0x42F6}},   // CDAB
      {true, false, {0xF642, 0x79E9}},   // BADC
      {true, true, {0x79E9, 0xF642}},    // DCBA
  };
  for (const auto& c : cases) {
    const PointSpec p = point(DataType::Float32, c.byte_swap, c.word_swap);
    auto regs = encode_registers(p, Value(123.456));
    ASSERT_TRUE(regs);
    EXPECT_EQ(*regs, c.regs) << c.byte_swap << c.word_swap;
    const Value v = decode_registers(p, holding(0), c.regs);
    ASSERT_TRUE(v.is_float());
    EXPECT_FLOAT_EQ(static_cast<float>(v.as_float()), 123.456f);
  }
}

TEST(ModbusRegisters, SixtyFourBitOrders) {
  // 123.456 as float64 is 40 5E DD 2F 1A 9F BE 77.
  const PointSpec abcd = point(DataType::Float64);
  EXPECT_EQ(*encode_registers(abcd, Value(123.456)),
            (std::vector<uint16_t>{0x405E, 0xDD2F, 0x1A9F, 0xBE77}));
  const PointSpec ghef = point(DataType::Float64, false, true);
  EXPECT_EQ(*encode_registers(ghef, Value(123.456)),
            (std::vector<uint16_t>{0xBE77, 0x1A9F, 0xDD2F, 0x405E}));
  const PointSpec hgfe = point(DataType::Float64, true, true);
  EXPECT_EQ(*encode_registers(hgfe, Value(123.456)),
            (std::vector<uint16_t>{0x77BE, 0x9F1A, 0x2FDD, 0x5E40}));
  const PointSpec i64 = point(DataType::Int64);
  EXPECT_EQ(*encode_registers(i64, Value(int64_t{-2})),
            (std::vector<uint16_t>{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE}));
}

TEST(ModbusRegisters, EveryTypeAndOrderRoundTrips) {
  const std::vector<std::pair<DataType, std::vector<Value>>> samples = {
      {DataType::Bool, {Value(true), Value(false)}},
      {DataType::Int16, {Value(int64_t{-32768}), Value(int64_t{32767}), Value(int64_t{-1})}},
      {DataType::Uint16, {Value(int64_t{0}), Value(int64_t{65535}), Value(int64_t{4660})}},
      {DataType::Int32, {Value(int64_t{INT32_MIN}), Value(int64_t{INT32_MAX}), Value(int64_t{-7})}},
      {DataType::Uint32, {Value(int64_t{0}), Value(int64_t{UINT32_MAX}), Value(int64_t{65536})}},
      {DataType::Int64, {Value(INT64_MIN), Value(INT64_MAX), Value(int64_t{1234567890123})}},
      {DataType::Float32, {Value(0.5), Value(-1e10), Value(3.25)}},
      {DataType::Float64, {Value(1e300), Value(-0.1), Value(2.0)}},
      {DataType::String, {Value("ABCDEFGH"), Value("odd"), Value("")}},
  };
  for (const auto& [type, values] : samples) {
    for (int order = 0; order < 4; ++order) {
      const PointSpec p = point(type, (order & 1) != 0, (order & 2) != 0, 8);
      for (const Value& v : values) {
        auto regs = encode_registers(p, v);
        ASSERT_TRUE(regs) << data_type_name(type) << " " << v.to_json();
        EXPECT_EQ(regs->size(), span_of(p, holding(0))) << data_type_name(type);
        const Value back = decode_registers(p, holding(0), *regs);
        EXPECT_EQ(back, v) << data_type_name(type) << " order " << order << " " << v.to_json()
                           << " -> " << back.to_json();
        EXPECT_EQ(back.type(), v.type()) << data_type_name(type);
      }
    }
  }
}

TEST(ModbusRegisters, StringsBoolsAndBits) {
  const PointSpec s = point(DataType::String, false, false, 6);
  const std::vector<uint16_t> regs{0x4142, 0x4300, 0x4444};  // "ABC\0DD"
  EXPECT_EQ(decode_registers(s, holding(0), regs), Value("ABC"));
  const PointSpec swapped = point(DataType::String, true, false, 6);
  EXPECT_EQ(decode_registers(swapped, holding(0), regs), Value("BA"));
  const std::vector<uint16_t> high{0x41FF, 0x0142};
  const PointSpec s4 = point(DataType::String, false, false, 4);
  EXPECT_EQ(decode_registers(s4, holding(0), high), Value("A??B"));  // JSON-safe text
  EXPECT_EQ(*encode_registers(s4, Value("AB")), (std::vector<uint16_t>{0x4142, 0}));
  EXPECT_FALSE(encode_registers(s4, Value("ABCDE")));  // longer than the point

  const PointSpec b = point(DataType::Bool);
  const std::vector<uint16_t> reg{0x0008};
  EXPECT_EQ(decode_registers(b, PointAddress{Table::HoldingRegister, 0, 3}, reg), Value(true));
  EXPECT_EQ(decode_registers(b, PointAddress{Table::HoldingRegister, 0, 2}, reg), Value(false));
  EXPECT_EQ(decode_registers(b, holding(0), reg), Value(true));  // whole register non-zero
  EXPECT_EQ(decode_registers(b, PointAddress{Table::Coil, 0, -1}, std::vector<uint16_t>{0}),
            Value(false));
  EXPECT_EQ(*encode_registers(b, Value(int64_t{1})), (std::vector<uint16_t>{1}));
  EXPECT_FALSE(encode_registers(b, Value(int64_t{2})));
  EXPECT_FALSE(encode_registers(b, Value("on")));
  // Too few registers (a bug upstream) gives null, not a read past the end.
  EXPECT_TRUE(decode_registers(point(DataType::Float32), holding(0), reg).is_null());
}

TEST(ModbusRegisters, EncodeChecksRangesAndKinds) {
  struct Case {
    DataType type;
    Value raw;
    const char* says;
  };
  const std::vector<Case> bad = {
      {DataType::Int16, Value(int64_t{32768}), "out of range for int16"},
      {DataType::Int16, Value(int64_t{-32769}), "out of range"},
      {DataType::Uint16, Value(int64_t{-1}), "out of range for uint16"},
      {DataType::Uint16, Value(int64_t{65536}), "out of range"},
      {DataType::Int32, Value(int64_t{1} << 31), "out of range"},
      {DataType::Uint32, Value(int64_t{1} << 32), "out of range"},
      {DataType::Int16, Value(1.5), "not an integer"},
      {DataType::Int64, Value(1e19), "not an integer"},
      {DataType::Int32, Value("5"), "expected a number"},
      {DataType::Float32, Value(1e39), "out of range for float32"},
      {DataType::Float64, Value(true), "expected a number"},
      {DataType::String, Value(int64_t{5}), "expected a string"},
  };
  for (const auto& c : bad) {
    PointSpec p = point(c.type, false, false, 4);
    auto r = encode_registers(p, c.raw);
    ASSERT_FALSE(r) << data_type_name(c.type) << " " << c.raw.to_json();
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
  // Integral doubles and bools are accepted for integer types.
  EXPECT_EQ(*encode_registers(point(DataType::Int16), Value(-2.0)),
            (std::vector<uint16_t>{0xFFFE}));
  EXPECT_EQ(*encode_registers(point(DataType::Uint16), Value(true)), (std::vector<uint16_t>{1}));
  EXPECT_EQ(*encode_registers(point(DataType::Float32), Value(int64_t{2})),
            (std::vector<uint16_t>{0x4000, 0}));
}

// ---- read plan ----

struct Fixture {
  std::vector<PointSpec> points;
  std::vector<PointAddress> addrs;
  void add(const char* address, DataType type, uint16_t length = 0) {
    points.push_back(point(type, false, false, length));
    addrs.push_back(*parse_address(address));
  }
  std::vector<uint32_t> all() const {
    std::vector<uint32_t> v(points.size());
    for (uint32_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
  }
};

// Every due point appears in exactly one slot, and its registers lie inside the request.
void expect_covers(const Fixture& prof, std::span<const uint32_t> due,
                   const std::vector<PlannedRead>& plan, const PlanLimits& limits) {
  std::multiset<uint32_t> seen;
  for (const PlannedRead& r : plan) {
    const uint16_t max = is_bit_table(r.table) ? limits.max_bits : limits.max_registers;
    for (const auto& s : r.slots) {
      seen.insert(s.point);
      const PointAddress& a = prof.addrs[s.point];
      EXPECT_EQ(a.table, r.table);
      EXPECT_EQ(a.offset, r.address + s.offset);
      EXPECT_LE(s.offset + span_of(prof.points[s.point], a), r.count);
    }
    if (r.slots.size() > 1) {
      EXPECT_LE(r.count, max);
    }
  }
  const std::set<uint32_t> want(due.begin(), due.end());
  EXPECT_EQ(seen.size(), want.size());
  for (uint32_t i : want) EXPECT_EQ(seen.count(i), 1u) << i;
}

TEST(ModbusPlan, MergesContiguousPoints) {
  Fixture prof;
  prof.add("holding:4", DataType::Float32);
  prof.add("holding:0", DataType::Float32);
  prof.add("holding:2", DataType::Uint16);
  prof.add("holding:3", DataType::Int16);
  prof.add("holding:6", DataType::Float64);
  const auto due = prof.all();
  const PlanLimits limits;
  auto plan = plan_reads(prof.points, prof.addrs, due, limits);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].address, 0);
  EXPECT_EQ(plan[0].count, 10);
  EXPECT_EQ(plan[0].slots[0].point, 1u);  // sorted by address
  expect_covers(prof, due, plan, limits);
}

TEST(ModbusPlan, GapsJoinOnlyWithinMaxGap) {
  Fixture prof;
  prof.add("holding:0", DataType::Uint16);
  prof.add("holding:5", DataType::Uint16);  // gap of 4 registers
  prof.add("holding:20", DataType::Uint16);
  const auto due = prof.all();
  PlanLimits limits;
  EXPECT_EQ(plan_reads(prof.points, prof.addrs, due, limits).size(), 3u);
  limits.max_gap = 4;
  auto plan = plan_reads(prof.points, prof.addrs, due, limits);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].count, 6);
  expect_covers(prof, due, plan, limits);
  limits.max_gap = 14;
  plan = plan_reads(prof.points, prof.addrs, due, limits);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].count, 21);
  expect_covers(prof, due, plan, limits);
}

TEST(ModbusPlan, RespectsLimitsAndKeepsTablesApart) {
  Fixture prof;
  for (int i = 0; i < 200; ++i) {
    prof.add(("holding:" + std::to_string(2 * i)).c_str(), DataType::Float32);
  }
  prof.add("input:0", DataType::Uint16);
  prof.add("input:1", DataType::Uint16);
  for (int i = 0; i < 2500; ++i) prof.add(("coil:" + std::to_string(i)).c_str(), DataType::Bool);
  prof.add("discrete:0", DataType::Bool);
  const auto due = prof.all();
  const PlanLimits limits;
  auto plan = plan_reads(prof.points, prof.addrs, due, limits);
  // Tables in order (coil, discrete, input, holding): 2000 + 500 coils, one discrete, one input;
  // 400 holding registers in runs of 124 (a float may not straddle the limit): 124*3 + 28.
  ASSERT_EQ(plan.size(), 2u + 1u + 1u + 4u);
  EXPECT_EQ(plan[0].table, Table::Coil);
  EXPECT_EQ(plan[0].count, 2000);
  EXPECT_EQ(plan[1].count, 500);
  EXPECT_EQ(plan[1].address, 2000);
  EXPECT_EQ(plan[2].table, Table::DiscreteInput);
  EXPECT_EQ(plan[3].table, Table::InputRegister);
  EXPECT_EQ(plan[3].count, 2);
  EXPECT_EQ(plan[4].table, Table::HoldingRegister);
  EXPECT_EQ(plan[4].count, 124);
  EXPECT_EQ(plan[7].count, 28);
  expect_covers(prof, due, plan, limits);

  PlanLimits small;
  small.max_registers = 10;
  small.max_bits = 100;
  plan = plan_reads(prof.points, prof.addrs, due, small);
  EXPECT_EQ(plan.size(), 40u + 1u + 25u + 1u);
  expect_covers(prof, due, plan, small);
}

TEST(ModbusPlan, OverlapsDuplicatesSubsetsAndOversizedPoints) {
  Fixture prof;
  prof.add("holding:0", DataType::Float32);
  prof.add("holding:1", DataType::Uint16);       // inside the float
  prof.add("holding:0.3", DataType::Bool);       // a bit of its first register
  prof.add("holding:50", DataType::String, 40);  // 20 registers
  prof.add("holding:100", DataType::Uint16);
  PlanLimits limits;
  limits.max_registers = 8;
  const std::vector<uint32_t> due{3, 1, 0, 2, 1, 99};  // a duplicate and an unknown index
  auto plan = plan_reads(prof.points, prof.addrs, due, limits);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].count, 2);
  EXPECT_EQ(plan[0].slots.size(), 3u);
  EXPECT_EQ(plan[1].count, 20);  // longer than the device limit, still one request
  const std::vector<uint32_t> known{3, 1, 0, 2};
  expect_covers(prof, known, plan, limits);
  EXPECT_TRUE(plan_reads(prof.points, prof.addrs, {}, limits).empty());
}

}  // namespace
}  // namespace verge::devices::modbus
