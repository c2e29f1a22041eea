// Tests for audit/data_keys.cc: the master key file, each client's wrapped data key, reading a
// sealed recording with it, and destroying it (crypto-shredding).
#include "audit/data_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "audit/fd_io.h"
#include "audit/retention.h"
#include "audit/client_terms.h"
#include "tests/audit/audit_fixture.h"

namespace bastion::audit {
namespace {

using testing::AuditFixture;
using testing::AuditFixtureOnEngines;
using testing::kNow;

class DataKeysTest : public AuditFixtureOnEngines {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    ASSERT_TRUE(ensure_master_key(master_path_).ok());
    auto m = load_master_key(master_path_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    master_ = std::move(*m);
  }

  // postgres_file_of: the file that holds a table's rows on the PostgreSQL server.
  std::string postgres_file_of(const std::string& table) {
    auto q = db_->prepare("SELECT current_setting('data_directory') || '/' || pg_relation_filepath(?)");
    q.bind(1, table);
    return q.step() ? q.col_text(0) : "";
  }

  // sealed_file writes a small sealed recording of `client` and returns its path.
  std::string sealed_file(const std::string& client, const std::string& text) {
    auto k = sealing_key_for(*db_, master_, client, kNow);
    EXPECT_TRUE(k.ok()) << (k.ok() ? "" : k.error().message);
    std::string bytes;
    auto w = SealedWriter::start(k->stream_key, k->key_id, k->salt, bytes);
    w.seal(text, bytes);
    w.finish(bytes);
    const std::string path = dir_ / (client + "-" + std::to_string(++files_) + ".cast");
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::string master_path_ = dir_ / "data_master_key";
  SecretKey master_;
  int files_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Engines, DataKeysTest, test_db::kEngines, test_db::engine_name);

TEST_P(DataKeysTest, TheMasterKeyFileIsPrivateAndMadeOnce) {
  struct stat st {};
  ASSERT_EQ(::stat(master_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto again = ensure_master_key(master_path_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto reloaded = load_master_key(master_path_);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->view(), master_.view());
  ::chmod(master_path_.c_str(), 0640);
  auto loose = load_master_key(master_path_);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message.find("chmod 600"), std::string::npos);
  EXPECT_FALSE(load_master_key(dir_ / "nothing-here").ok());
}

TEST_P(DataKeysTest, EachClientHasItsOwnKeyStoredOnlyWrapped) {
  auto acme = ensure_client_key(*db_, master_, "acme", kNow);
  auto globex = ensure_client_key(*db_, master_, "globex", kNow);
  ASSERT_TRUE(acme.ok() && globex.ok());
  EXPECT_NE(acme->key_id, globex->key_id);
  auto again = ensure_client_key(*db_, master_, "acme", kNow + std::chrono::hours(1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->key_id, acme->key_id);
  EXPECT_EQ(again->created_at, kNow);
  auto key = unwrap_client_key(*db_, master_, acme->key_id);
  ASSERT_TRUE(key.ok());
  // What the database holds is not the key, in any encoding a reader could try.
  auto q = db_->prepare("SELECT wrapped FROM client_data_keys WHERE client = 'acme'");
  ASSERT_TRUE(q.step());
  const std::string wrapped = q.col_text(0);
  EXPECT_EQ(wrapped.find(std::string(key->view())), std::string::npos);
  const auto keys = list_client_keys(*db_);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].client, "acme");
}

TEST_P(DataKeysTest, AnotherMasterKeyOpensNoClientKey) {
  auto acme = ensure_client_key(*db_, master_, "acme", kNow);
  ASSERT_TRUE(acme.ok());
  const SecretKey other = SecretKey::random();
  auto key = unwrap_client_key(*db_, other, acme->key_id);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("does not open under this master key"), std::string::npos);
}

TEST_P(DataKeysTest, AWrappedKeyCopiedToAnotherClientsRowDoesNotOpen) {
  ASSERT_TRUE(ensure_client_key(*db_, master_, "acme", kNow).ok());
  auto globex = ensure_client_key(*db_, master_, "globex", kNow);
  ASSERT_TRUE(globex.ok());
  sql("UPDATE client_data_keys SET wrapped = (SELECT wrapped FROM client_data_keys WHERE client = 'acme') "
      "WHERE client = 'globex'");
  EXPECT_FALSE(unwrap_client_key(*db_, master_, globex->key_id).ok());
}

TEST_P(DataKeysTest, ARecordingReadsBackWithItsClientsKey) {
  const std::string path = sealed_file("acme", "acme's terminal");
  auto text = read_recording(path, key_lookup(*db_, master_));
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_TRUE(text->sealed);
  EXPECT_EQ(text->state, SealedState::Complete);
  EXPECT_EQ(text->bytes, "acme's terminal");
  EXPECT_FALSE(read_recording(path, {}).ok()) << "a sealed file needs a key";
}

TEST_P(DataKeysTest, ShreddingOneClientLeavesItsCopiesUnreadableAndAnotherClientsReadable) {
  const std::string acme = sealed_file("acme", "acme's terminal");
  const std::string globex = sealed_file("globex", "globex's terminal");
  {
    db::Database::Transaction tx(*db_);
    auto destroyed = destroy_client_key(*db_, "acme", kNow + std::chrono::hours(2), "officer");
    ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
    tx.commit();
  }
  scrub_after_destroy(*db_);
  auto gone = read_recording(acme, key_lookup(*db_, master_));
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message.find("destroyed on 2026-11-23T12:00:00Z by officer"), std::string::npos)
      << gone.error().message;
  auto kept = read_recording(globex, key_lookup(*db_, master_));
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->bytes, "globex's terminal");
  // The wrapped key's bytes are gone from the row, and nothing more of acme is recorded.
  auto q = db_->prepare("SELECT wrapped IS NULL FROM client_data_keys WHERE client = 'acme'");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.col_int(0), 1);
  auto more = sealing_key_for(*db_, master_, "acme", kNow + std::chrono::hours(3));
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.error().message.find("nothing more of it is recorded"), std::string::npos);
  db::Database::Transaction tx(*db_);
  EXPECT_FALSE(destroy_client_key(*db_, "acme", kNow, "officer").ok()) << "destroyed twice";
}

TEST_P(DataKeysTest, TheWrappedKeyLeavesTheDatabaseFile) {
  auto acme = ensure_client_key(*db_, master_, "acme", kNow);
  ASSERT_TRUE(acme.ok());
  std::string wrapped;
  {
    auto q = db_->prepare("SELECT wrapped FROM client_data_keys WHERE client = 'acme'");
    ASSERT_TRUE(q.step());
    wrapped = q.col_text(0);
  }
  const std::string table_file_before = db_->is_postgres() ? postgres_file_of("client_data_keys") : "";
  {
    db::Database::Transaction tx(*db_);
    ASSERT_TRUE(destroy_client_key(*db_, "acme", kNow, "officer").ok());
    tx.commit();
  }
  if (db_->is_postgres()) {
    // Another test's transaction on the same server may hold a snapshot from before the
    // destruction: scrub then refuses (it would copy the old row version), and a later one passes.
    bool scrubbed = false;
    for (int attempt = 0; attempt < 100 && !scrubbed; ++attempt) {
      scrubbed = scrub_after_destroy(*db_);
      if (!scrubbed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(scrubbed) << "no moment without an older snapshot in 100 attempts";
    // The table's file, once every dirty page is written to it (CHECKPOINT: the test's role is a
    // superuser), holds no old row version: VACUUM FULL rewrote it into a new file. (PostgreSQL's
    // write-ahead log still does: README, "Database: SQLite or PostgreSQL".)
    const std::string before = table_file_before;
    sql("CHECKPOINT");
    const std::string after = postgres_file_of("client_data_keys");
    EXPECT_NE(after, before) << "the table was not rewritten";
    auto bytes = read_file(after);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    EXPECT_EQ(bytes->find(wrapped), std::string::npos) << after << " still holds the wrapped key";
    return;
  }
  EXPECT_TRUE(scrub_after_destroy(*db_));
  for (const std::string suffix : {"", "-wal"}) {
    auto bytes = read_file(dir_ / ("bastion.db" + suffix));
    if (!bytes) continue;
    EXPECT_EQ(bytes->find(wrapped), std::string::npos) << "bastion.db" << suffix << " still holds the wrapped key";
  }
}

TEST_P(DataKeysTest, AReaderFromBeforeTheDestructionKeepsTheScrubFromClaimingTheKeyIsGone) {
  ASSERT_TRUE(ensure_client_key(*db_, master_, "acme", kNow).ok());
  auto other = db::Database::open(location_, false);
  ASSERT_TRUE(other.ok()) << other.error().message;
  (*other)->exec(db_->is_postgres() ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN");
  auto seen = (*other)->prepare("SELECT count(*) FROM client_data_keys");
  ASSERT_TRUE(seen.step());  // its snapshot, which still holds the wrapped key, is taken now
  {
    db::Database::Transaction tx(*db_);
    ASSERT_TRUE(destroy_client_key(*db_, "acme", kNow, "officer").ok());
    tx.commit();
  }
  db_->set_busy_timeout(std::chrono::milliseconds(50));  // SQLite's checkpoint waits for the reader
  EXPECT_FALSE(scrub_after_destroy(*db_)) << "a reader can still see the old row: its bytes cannot be gone";
  seen.reset();
  (*other)->exec("COMMIT");
}

TEST_P(DataKeysTest, ThePurgeAtContractEndDestroysTheClientsKey) {
  const std::string acme = sealed_file("acme", "acme's terminal");
  ClientTermsChange end;
  end.contract_end = std::optional<Seconds>(kNow - std::chrono::days(100));
  end.grace_days = 30;
  ASSERT_TRUE(set_client_terms(*db_, "acme", end).ok());
  const FixedClock clock(kNow);
  const PurgeReport report = purge(*db_, clock, recordings_dir_, "retention");
  ASSERT_EQ(report.clients.size(), 1u);
  EXPECT_EQ(report.clients[0].client, "acme");
  EXPECT_FALSE(report.clients[0].data_key_destroyed.empty());
  auto gone = read_recording(acme, key_lookup(*db_, master_));
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().message.find("by retention"), std::string::npos) << gone.error().message;
  auto k = find_client_key(*db_, "acme");
  ASSERT_TRUE(k.has_value());
  EXPECT_TRUE(k->destroyed());
}

}  // namespace
}  // namespace bastion::audit
