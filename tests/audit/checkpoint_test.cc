#include "audit/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <fstream>
#include <sstream>

#include "audit/client_terms.h"
#include "audit/event_chain.h"
#include "audit/retention.h"
#include "audit/verify.h"
#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using ::testing::HasSubstr;
using Kind = VerifyFinding::Kind;

// TestKey: a real Ed25519 key pair (libsodium), as gateway/checkpoint_key.h holds one.
struct TestKey {
  std::array<unsigned char, 32> pk{};
  std::array<unsigned char, 64> sk{};
  TestKey() {
    EXPECT_GE(sodium_init(), 0);
    crypto_sign_ed25519_keypair(pk.data(), sk.data());
  }
  CheckpointSigner signer(std::string fingerprint = "SHA256:test-key") const {
    return {std::move(fingerprint), [this](std::string_view bytes) {
              std::string sig(crypto_sign_BYTES, '\0');
              crypto_sign_ed25519_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                                           reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), sk.data());
              return sig;
            }};
  }
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(CheckpointFormat, CanonicalFormIsTheDocumentedArray) {
  const Checkpoint c{7, 120, "ab12", from_unix(1795428000), "bastion1", "SHA256:k", "sig"};
  EXPECT_EQ(canonical_checkpoint(c), R"(["bastion.checkpoint.v1",7,120,"ab12",1795428000,"bastion1","SHA256:k"])");
  // The signature is not part of what is signed; strings are escaped as the event chain's are.
  Checkpoint odd = c;
  odd.signature = "other";
  odd.node = "node\"1\n\xc3\xa9";
  EXPECT_EQ(canonical_checkpoint(odd),
            "[\"bastion.checkpoint.v1\",7,120,\"ab12\",1795428000,\"node\\\"1\\n\xc3\xa9\",\"SHA256:k\"]");
}

TEST(CheckpointFormat, SignatureVerifiesAndEverySignedFieldChangeBreaksIt) {
  const TestKey key;
  Checkpoint c{3, 42, std::string(64, 'a'), from_unix(1795428000), "bastion1", "SHA256:test-key", ""};
  const auto signer = key.signer();
  const std::string raw = signer.sign(canonical_checkpoint(c));
  std::string b64(sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.size() - 1);
  c.signature = b64;
  EXPECT_TRUE(checkpoint_signature_valid(c, key.pk));

  const TestKey other;
  EXPECT_FALSE(checkpoint_signature_valid(c, other.pk));
  auto changed = [&](auto change) {
    Checkpoint d = c;
    change(d);
    return checkpoint_signature_valid(d, key.pk);
  };
  EXPECT_FALSE(changed([](Checkpoint& d) { d.seq = 4; }));
  EXPECT_FALSE(changed([](Checkpoint& d) { d.event_id = 41; }));
  EXPECT_FALSE(changed([](Checkpoint& d) { d.event_hash[0] = 'b'; }));
  EXPECT_FALSE(changed([](Checkpoint& d) { d.at = d.at + std::chrono::seconds(1); }));
  EXPECT_FALSE(changed([](Checkpoint& d) { d.node = "bastion2"; }));
  EXPECT_FALSE(changed([](Checkpoint& d) { d.key = "SHA256:other"; }));
  EXPECT_FALSE(changed([](Checkpoint& d) { d.signature = "not base64!"; }));
  EXPECT_FALSE(changed([](Checkpoint& d) { d.signature = d.signature.substr(4); }));
}

TEST(CheckpointFormat, LineFormRoundTripsAndEventLinesAreNotCheckpoints) {
  const Checkpoint c{9, 1000, std::string(64, 'f'), from_unix(1795428000), "b1", "SHA256:k", "c2ln"};
  const std::string line = checkpoint_line(c);
  EXPECT_EQ(line.rfind(R"({"type":"checkpoint","format":"bastion.checkpoint.v1","seq":9,)", 0), 0u) << line;
  EXPECT_THAT(line, HasSubstr(R"("at":"2026-11-23T10:00:00Z")"));
  auto back = parse_checkpoint_line(line);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(canonical_checkpoint(**back), canonical_checkpoint(c));
  EXPECT_EQ((*back)->signature, "c2ln");

  // As syslog carries it: a prefix before the object.
  auto from_syslog = parse_checkpoint_line("Dec  6 03:00:00 b1 bastiond[12]: " + line);
  ASSERT_TRUE(from_syslog.ok() && from_syslog->has_value());
  EXPECT_EQ((*from_syslog)->seq, 9);

  for (const std::string& other : {std::string(R"({"id":3,"kind":"auth.success","hash":"ab"})"), std::string(""),
                                  std::string("plain text"), std::string(R"({"type":"something-else"})")}) {
    auto r = parse_checkpoint_line(other);
    ASSERT_TRUE(r.ok()) << other;
    EXPECT_FALSE(r->has_value()) << other;
  }
}

TEST(CheckpointFormat, MalformedCheckpointLinesAreErrorsNotSilence) {
  const std::string good = checkpoint_line({2, 5, "h", from_unix(1), "n", "k", "s"});
  auto without = [&](const std::string& member) {
    nlohmann::json j = nlohmann::json::parse(good);
    j.erase(member);
    return j.dump();
  };
  for (const std::string& bad :
       {without("seq"), without("signature"), without("event_hash"), without("at_unix"), without("format"),
        good.substr(0, good.size() / 2), good.substr(0, 25),
        std::string(R"({"type":"checkpoint","format":"bastion.checkpoint.v1","seq":"1","event_id":5,"event_hash":"h",)"
                    R"("at_unix":1,"node":"n","key":"k","signature":"s"})"),
        std::string(R"({"type":"checkpoint","format":"bastion.checkpoint.v1","seq":0,"event_id":5,"event_hash":"h",)"
                    R"("at_unix":1,"node":"n","key":"k","signature":"s"})")}) {
    EXPECT_FALSE(parse_checkpoint_line(bad).ok()) << bad;
  }
}

class CheckpointTest : public testing::AuditFixtureOnEngines {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    sinks_ = quiet_sinks();
    sinks_.json_lines_path = dir_ / "events.jsonl";
    log_ = std::make_unique<SqliteEventLog>(db_, sinks_);
    evidence_.public_key = key_.pk;
    evidence_.fingerprint = "SHA256:test-key";
  }

  Checkpoint checkpoint(Seconds at = testing::kNow) {
    const auto w = write_checkpoint(*db_, key_.signer(), "bastion1", at, sinks_);
    EXPECT_TRUE(w.emitted) << w.sink_error;
    return w.checkpoint;
  }

  void events(int n) {
    for (int i = 0; i < n; ++i) add_event("channel.allowed", "web1", 1);
  }

  // verify reads the sink file (or `text` in its place) as `audit verify --checkpoints` does.
  VerifyReport verify(std::optional<std::string> text = std::nullopt) {
    std::string path = sinks_.json_lines_path;
    if (text) {
      path = dir_ / "copy.jsonl";
      std::ofstream(path) << *text;
    }
    CheckpointEvidence e = evidence_;
    EXPECT_TRUE(read_checkpoint_file(path, e).ok());
    return verify_audit(*db_, &e);
  }

  static std::vector<VerifyFinding> of_kind(const VerifyReport& r, Kind kind) {
    std::vector<VerifyFinding> out;
    for (const auto& f : r.findings)
      if (f.kind == kind) out.push_back(f);
    return out;
  }

  static std::string all(const VerifyReport& r) {
    std::string s;
    for (const auto& f : r.findings) s += f.message + "\n";
    return s;
  }

  // rewrite_from alters event `from` and re-hashes it and every later event, as someone with the
  // database but not the key would: the chain links again, only the checkpoints can tell.
  void rewrite_from(std::int64_t from) {
    std::string prev;
    for (const auto& e : list_events(*db_, {})) {
      if (e.id < from) {
        prev = e.hash;
        continue;
      }
      Event changed = e.event;
      if (e.id == from) changed.details = {{"n", 999}};
      const std::string hash = event_hash(e.id, prev, changed);
      auto q = db_->prepare("UPDATE events SET details = ?, prev_hash = ?, hash = ? WHERE id = ?");
      q.bind(1, compact_details(changed.details)).bind(2, prev).bind(3, hash).bind(4, e.id);
      q.step();
      prev = hash;
    }
  }

  TestKey key_;
  EventSinks sinks_;
  CheckpointEvidence evidence_;
};

INSTANTIATE_TEST_SUITE_P(Engines, CheckpointTest, test_db::kEngines, test_db::engine_name);

TEST_P(CheckpointTest, WrittenCheckpointsAreNumberedSignedStoredAndInTheSinkFile) {
  const Checkpoint empty = checkpoint();
  EXPECT_EQ(empty.seq, 1);
  EXPECT_EQ(empty.event_id, 0);
  events(3);
  const Checkpoint c = checkpoint();
  EXPECT_EQ(c.seq, 2);
  EXPECT_EQ(c.event_id, 3);
  EXPECT_EQ(c.event_hash, list_events(*db_, {}).back().hash);
  EXPECT_EQ(c.node, "bastion1");
  EXPECT_TRUE(checkpoint_signature_valid(c, key_.pk));

  const auto stored = list_checkpoints(*db_);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[1].signature, c.signature);
  EXPECT_EQ(count("checkpoints", "emitted_at IS NULL"), 0);

  // The sink file holds the three events and the two checkpoints, in the order written.
  const auto lines = lines_of(read_text(sinks_.json_lines_path));
  ASSERT_EQ(lines.size(), 5u);
  auto last = parse_checkpoint_line(lines.back());
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->signature, c.signature);
  EXPECT_FALSE(parse_checkpoint_line(lines[1])->has_value());
}

TEST_P(CheckpointTest, OneWrittenWithoutSinksWaitsUntilEmitted) {
  events(2);
  EventSinks none = quiet_sinks();
  const auto w = write_checkpoint(*db_, key_.signer(), "bastion1", testing::kNow, none);
  EXPECT_FALSE(w.emitted);
  EXPECT_TRUE(checkpoints_pending(*db_));
  auto sent = emit_pending_checkpoints(*db_, sinks_, testing::kNow);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(*sent, 1);
  EXPECT_FALSE(checkpoints_pending(*db_));
  EXPECT_TRUE(verify().intact()) << all(verify());
}

TEST_P(CheckpointTest, DueAfterNEventsOrMMinutesAndWhenNoneExists) {
  const auto every = std::chrono::minutes(5);
  EXPECT_TRUE(checkpoint_due(*db_, 10, every, testing::kNow));
  checkpoint();
  events(9);
  EXPECT_FALSE(checkpoint_due(*db_, 10, every, testing::kNow + std::chrono::minutes(4)));
  events(1);
  EXPECT_THAT(checkpoint_due(*db_, 10, every, testing::kNow).value_or(""), HasSubstr("10 events"));
  checkpoint();
  EXPECT_FALSE(checkpoint_due(*db_, 10, every, testing::kNow + std::chrono::seconds(299)));
  EXPECT_TRUE(checkpoint_due(*db_, 10, every, testing::kNow + std::chrono::minutes(5)));
}

TEST_P(CheckpointTest, UntouchedChainVerifiesAgainstItsCheckpoints) {
  checkpoint();
  events(20);
  checkpoint();
  events(5);
  const auto r = verify();
  EXPECT_TRUE(r.intact()) << all(r);
  EXPECT_EQ(r.checkpoints, 2);
  ASSERT_TRUE(r.newest_checkpoint);
  EXPECT_EQ(r.newest_checkpoint->event_id, 20);
  EXPECT_EQ(r.newest_event, 25);
}

TEST_P(CheckpointTest, DeletingTheLastTenEventsIsReportedAsTruncation) {
  events(30);
  checkpoint();
  // The plain chain cannot see it: deleting from the end leaves every link intact.
  sql("DELETE FROM events WHERE id > 20");
  EXPECT_TRUE(verify_audit(*db_).intact());
  const auto r = verify();
  const auto found = of_kind(r, Kind::TruncatedChain);
  ASSERT_EQ(found.size(), 1u) << all(r);
  EXPECT_EQ(found[0].event_id, 21);
  EXPECT_EQ(found[0].checkpoint, 1);
  EXPECT_THAT(found[0].message, HasSubstr("events 21 to 30 are missing"));
  EXPECT_THAT(found[0].message, HasSubstr("checkpoint 1 ("));
  EXPECT_THAT(found[0].message, HasSubstr("events.jsonl line 31"));
}

TEST_P(CheckpointTest, RewritingTheChainFromEventFiveIsReportedUnderTheCheckpoint) {
  events(3);
  checkpoint();  // confirms events 1-3
  events(7);
  checkpoint();  // covers event 10
  rewrite_from(5);
  EXPECT_TRUE(verify_audit(*db_).intact()) << "the rewrite should fool the unkeyed chain";
  const auto r = verify();
  const auto found = of_kind(r, Kind::RewrittenChain);
  ASSERT_EQ(found.size(), 1u) << all(r);
  EXPECT_EQ(found[0].event_id, 10);
  EXPECT_EQ(found[0].checkpoint, 2);
  EXPECT_THAT(found[0].message, HasSubstr("rewritten under checkpoint 2"));
  EXPECT_THAT(found[0].message, HasSubstr("starts after event 3"));
  EXPECT_THAT(found[0].message, HasSubstr("at or before event 10"));
}

TEST_P(CheckpointTest, ARemovedCheckpointIsReportedAsAGap) {
  for (int i = 0; i < 4; ++i) {
    events(2);
    checkpoint();
  }
  std::string kept;
  for (const auto& line : lines_of(read_text(sinks_.json_lines_path))) {
    auto c = parse_checkpoint_line(line);
    if (c.ok() && c->has_value() && (*c)->seq == 2) continue;
    kept += line + "\n";
  }
  const auto r = verify(kept);
  const auto found = of_kind(r, Kind::MissingCheckpoint);
  ASSERT_EQ(found.size(), 1u) << all(r);
  EXPECT_EQ(found[0].checkpoint, 2);
  EXPECT_THAT(found[0].message, HasSubstr("checkpoint 2 is missing"));
  EXPECT_THAT(found[0].message, HasSubstr("checkpoint 1 ("));
  EXPECT_THAT(found[0].message, HasSubstr("checkpoint 3 ("));
}

TEST_P(CheckpointTest, AForgedCheckpointIsReportedAndVouchesForNothing) {
  events(5);
  checkpoint();
  events(5);
  // Someone without the key deletes the newest events and writes a checkpoint of their own for
  // the shortened chain, with a made-up signature.
  sql("DELETE FROM events WHERE id > 5");
  std::string text = read_text(sinks_.json_lines_path);
  Checkpoint forged{2, 5, list_events(*db_, {}).back().hash, testing::kNow, "bastion1", "SHA256:test-key",
                    std::string(88, 'A')};
  forged.signature.replace(86, 2, "==");
  text += checkpoint_line(forged) + "\n";
  const auto r = verify(text);
  const auto found = of_kind(r, Kind::ForgedCheckpoint);
  ASSERT_EQ(found.size(), 1u) << all(r);
  EXPECT_EQ(found[0].checkpoint, 2);
  EXPECT_THAT(found[0].message, HasSubstr("does not verify"));

  // Signed by another key that names itself as ours: the same.
  const TestKey thief;
  Checkpoint other = forged;
  other.signature = "";
  const auto signer = thief.signer();
  std::string raw = signer.sign(canonical_checkpoint(other));
  std::string b64(sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.size() - 1);
  other.signature = b64;
  const auto r2 = verify(read_text(sinks_.json_lines_path) + checkpoint_line(other) + "\n");
  EXPECT_EQ(of_kind(r2, Kind::ForgedCheckpoint).size(), 1u) << all(r2);
}

TEST_P(CheckpointTest, EventsRetentionPurgedUnderACheckpointAreNoFinding) {
  for (int i = 0; i < 3; ++i) add_event("channel.allowed", "web1", 90);  // old: purged below
  checkpoint();  // names event 3, which the purge deletes and anchors
  add_event("channel.allowed", "db1", 1);
  checkpoint();
  ClientTermsChange terms;
  terms.event_retention_days = 30;
  ASSERT_TRUE(set_client_terms(*db_, "acme", terms).ok());
  FixedClock clock{testing::kNow};
  (void)purge(*db_, clock, recordings_dir_, "olivia");
  ASSERT_EQ(count("events", "id <= 3"), 0) << "the purge should have deleted events 1-3";
  const auto r = verify();
  EXPECT_TRUE(r.intact()) << all(r);
  EXPECT_EQ(r.checkpoints, 2) << "checkpoint 1 is confirmed by the purge's anchor of event 3";
}

TEST_P(CheckpointTest, ACheckpointLineCutShortIsReported) {
  events(2);
  checkpoint();
  const std::string text = read_text(sinks_.json_lines_path);
  const auto r = verify(text.substr(0, text.size() - 20) + "\n");
  const auto found = of_kind(r, Kind::UnreadableCheckpoint);
  ASSERT_EQ(found.size(), 1u) << all(r);
  EXPECT_THAT(found[0].message, HasSubstr("line 3"));
}

}  // namespace
}  // namespace bastion::audit
