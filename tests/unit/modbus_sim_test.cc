// The Modbus simulator's pieces without sockets: the register map, a device answering request
// PDUs (decoded with the adapters' codec, so both sides agree), and the generated node config.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "devices/adapters/modbus/pdu.h"
#include "devices/adapters/modbus/registers.h"
#include "sim/modbus_config.h"
#include "sim/modbus_device.h"
#include "sim/modbus_layout.h"

namespace verge::sim {
namespace {

namespace mb = devices::modbus;

constexpr double kNow = 1763700000.0;  // a fixed time: values are functions of it

mb::Response ask(SimDevice& device, const mb::Request& req, double t = kNow) {
  std::string pdu;
  mb::encode_request(req, pdu);
  std::string reply;
  device.handle(pdu, t, reply);
  auto resp = mb::decode_response(reply, req);
  EXPECT_TRUE(resp.has_value()) << (resp ? "" : resp.error().message);
  return resp ? *resp : mb::Response{};
}

TEST(ModbusSimLayout, TablesAreFilledWithoutGapsAndAddressesParse) {
  const ModbusLayout layout(1000);
  ASSERT_EQ(layout.points().size(), 1000u);
  std::set<std::string> names;
  uint32_t regs[4] = {0, 0, 0, 0};
  for (const SimPoint& p : layout.points()) {
    names.insert(p.spec.name);
    auto addr = mb::parse_address(p.spec.address);
    ASSERT_TRUE(addr) << p.spec.address;
    EXPECT_EQ(addr->table, p.addr.table);
    EXPECT_EQ(addr->offset, p.addr.offset);
    EXPECT_TRUE(mb::check_point(p.spec, *addr)) << p.spec.name;
    // Points follow each other in their table.
    auto& next = regs[static_cast<size_t>(p.addr.table)];
    EXPECT_EQ(p.addr.offset, next) << p.spec.name;
    next += p.span;
  }
  EXPECT_EQ(names.size(), 1000u);
  EXPECT_EQ(layout.table_size(mb::Table::HoldingRegister), 600u);  // 2+1+1+2 per 10 points
  EXPECT_EQ(layout.table_size(mb::Table::InputRegister), 1000u);   // 2+2+1+4+1
  EXPECT_EQ(layout.table_size(mb::Table::Coil), 100u);
  EXPECT_EQ(layout.table_size(mb::Table::DiscreteInput), 0u);
  EXPECT_EQ(layout.points()[0].spec.name, "t0001");
  EXPECT_EQ(layout.points()[4].spec.name, "c0005");
  EXPECT_EQ(layout.points()[4].spec.access, devices::Access::ReadWrite);
}

TEST(ModbusSimDevice, ReadsDecodeIntoPlausibleValues) {
  const ModbusLayout layout(100);
  SimDevice device(layout, 3);
  const auto& points = layout.points();
  for (uint32_t i = 0; i < points.size(); ++i) {
    const SimPoint& p = points[i];
    const mb::Response r = ask(device, mb::read_request(p.addr.table, p.addr.offset, p.span));
    ASSERT_EQ(r.exception, 0) << p.spec.name;
    std::vector<uint16_t> regs = r.registers;
    if (mb::is_bit_table(p.addr.table)) regs.assign(r.bits.begin(), r.bits.end());
    const Value raw = mb::decode_registers(p.spec, p.addr, regs);
    if (p.spec.type == devices::DataType::Bool) {
      EXPECT_TRUE(raw.is_bool()) << p.spec.name;
      continue;
    }
    const double v = *raw.number() * p.spec.scale;
    if (p.spec.unit == "degC") {
      EXPECT_GE(v, 10) << p.spec.name;
      EXPECT_LE(v, 35) << p.spec.name;
    } else if (p.spec.unit == "V") {
      EXPECT_NEAR(v, 230, 5) << p.spec.name;
    } else if (p.spec.unit == "l" || p.spec.unit == "kWh") {
      EXPECT_GT(v, 0) << p.spec.name;  // counters since 2024
    }
  }
  // A 125-register read spanning many points equals the points read one by one.
  const mb::Response all = ask(device, mb::read_request(mb::Table::InputRegister, 0, 100));
  ASSERT_EQ(all.registers.size(), 100u);
  const SimPoint& e = points[7];  // energy, float64 at input:5
  const mb::Response one = ask(device, mb::read_request(e.addr.table, e.addr.offset, 4));
  EXPECT_EQ(std::vector<uint16_t>(all.registers.begin() + 5, all.registers.begin() + 9),
            one.registers);
}

TEST(ModbusSimDevice, CountersGrowAndDevicesDiffer) {
  const ModbusLayout layout(10);
  SimDevice a(layout, 0);
  SimDevice b(layout, 1);
  const SimPoint& flow = layout.points()[2];
  auto read_flow = [&](SimDevice& d, double t) {
    const auto r = ask(d, mb::read_request(flow.addr.table, flow.addr.offset, 2), t);
    return mb::decode_registers(flow.spec, flow.addr, r.registers).as_int();
  };
  EXPECT_LT(read_flow(a, kNow), read_flow(a, kNow + 60));
  const SimPoint& temp = layout.points()[0];
  const auto ta = ask(a, mb::read_request(temp.addr.table, temp.addr.offset, 2)).registers;
  const auto tb = ask(b, mb::read_request(temp.addr.table, temp.addr.offset, 2)).registers;
  EXPECT_NE(ta, tb);
  const SimPoint& energy = layout.points()[7];
  const auto ea = ask(a, mb::read_request(energy.addr.table, energy.addr.offset, 4)).registers;
  const auto eb = ask(b, mb::read_request(energy.addr.table, energy.addr.offset, 4)).registers;
  EXPECT_NE(ea, eb);
}

TEST(ModbusSimDevice, WritesAreKeptAndReadOnlyPointsRefused) {
  const ModbusLayout layout(20);
  SimDevice device(layout, 0);
  const SimPoint& sp = layout.points()[4];  // c0005, holding, int16 rw
  const std::vector<uint16_t> v{0xFFF6};
  EXPECT_EQ(ask(device, mb::write_registers_request(sp.addr.offset, v)).exception, 0);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::HoldingRegister, sp.addr.offset, 1)).registers,
            v);
  const std::vector<uint16_t> w{7};
  EXPECT_EQ(ask(device, mb::write_registers_request(sp.addr.offset, w, true)).exception, 0);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::HoldingRegister, sp.addr.offset, 1)).registers,
            w);
  // Holding 0 is t0001, a measurement.
  EXPECT_EQ(ask(device, mb::write_registers_request(0, w)).exception, 2);
  const std::vector<uint16_t> two{1, 2};  // the setpoint and the register after it
  EXPECT_EQ(ask(device, mb::write_registers_request(sp.addr.offset, two)).exception, 2);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::HoldingRegister, sp.addr.offset, 1)).registers,
            w);

  const std::vector<uint8_t> on{1, 0};
  EXPECT_EQ(ask(device, mb::write_coils_request(0, on)).exception, 0);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::Coil, 0, 2)).bits, on);
  const std::vector<uint8_t> off{0};
  EXPECT_EQ(ask(device, mb::write_coils_request(1, off)).exception, 0);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::Coil, 1, 1)).bits, off);
  EXPECT_EQ(ask(device, mb::write_coils_request(2, off)).exception, 2);  // 2 coils only
}

TEST(ModbusSimDevice, ExceptionsForBadRequests) {
  const ModbusLayout layout(10);
  SimDevice device(layout, 0);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::HoldingRegister, 5, 2)).exception, 2);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::HoldingRegister, 65535, 1)).exception, 2);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::DiscreteInput, 0, 1)).exception, 2);
  EXPECT_EQ(ask(device, mb::read_request(mb::Table::InputRegister, 0, 126)).exception, 3);
  std::string reply;
  device.handle(std::string("\x2b\x0e\x01\x00", 4), kNow, reply);
  EXPECT_EQ(reply, std::string("\xab\x01", 2));
  reply.clear();
  device.handle("", kNow, reply);
  EXPECT_EQ(reply, std::string("\x80\x01", 2));
}

TEST(ModbusSimConfig, YamlDescribesLayoutAndDevices) {
  const ModbusLayout layout(30);
  const std::vector<uint16_t> ports{5020, 5021};
  const YAML::Node doc = YAML::Load(sim_config_yaml(layout, "127.0.0.1", ports, "500ms"));
  ASSERT_EQ(doc["profiles"].size(), 1u);
  const YAML::Node profile = doc["profiles"][0];
  EXPECT_EQ(profile["name"].as<std::string>(), "sim-30");
  EXPECT_EQ(profile["protocol"].as<std::string>(), "modbus-tcp");
  ASSERT_EQ(profile["points"].size(), 30u);
  for (size_t i = 0; i < 30; ++i) {
    const YAML::Node p = profile["points"][i];
    const auto& spec = layout.points()[i].spec;
    EXPECT_EQ(p["name"].as<std::string>(), spec.name);
    EXPECT_EQ(p["address"].as<std::string>(), spec.address);
    EXPECT_EQ(p["type"].as<std::string>(), devices::data_type_name(spec.type));
    EXPECT_EQ(p["access"].as<std::string>(), devices::access_name(spec.access));
    EXPECT_DOUBLE_EQ(p["scale"] ? p["scale"].as<double>() : 1.0, spec.scale);
    if (!spec.unit.empty()) {
      EXPECT_EQ(p["unit"].as<std::string>(), spec.unit);
    }
  }
  ASSERT_EQ(doc["devices"].size(), 2u);
  EXPECT_EQ(doc["devices"][1]["id"].as<std::string>(), "sim-1");
  EXPECT_EQ(doc["devices"][1]["profile"].as<std::string>(), "sim-30");
  EXPECT_EQ(doc["devices"][1]["connection"]["port"].as<int>(), 5021);
  EXPECT_EQ(doc["devices"][1]["connection"]["unit"].as<int>(), 1);
  EXPECT_EQ(doc["devices"][1]["poll"].as<std::string>(), "500ms");
  EXPECT_EQ(ports_json(ports), "{\"ports\":[5020,5021]}\n");
}

}  // namespace
}  // namespace verge::sim
