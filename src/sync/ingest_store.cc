#include "sync/ingest_store.h"

namespace verge::sync {

// Stub until the embedded and PostgreSQL stores land (this file dispatches on options.storage).
Result<std::unique_ptr<IngestStore>> IngestStore::open(const IngestOptions& options) {
  (void)options;
  return unexpected(Error{"ingest store: not implemented yet"});
}

}  // namespace verge::sync
