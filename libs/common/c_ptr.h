#pragma once
// An owning pointer to a C library object, freed with that library's own function:
//
//   common::CPtr<EVP_PKEY, EVP_PKEY_free> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
//   common::CPtr<cjose_jws_t, cjose_jws_release> jws(cjose_jws_import(...));
//
// One mechanism for OpenSSL, cjose and libcurl instead of a deleter struct per type per file.
// Header-only: it links nothing; the user links the library whose function it names.

#include <memory>

namespace sase::common {

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const {
    (void)Free(p);  // unique_ptr never passes null; some free functions return a status
  }
};

template <typename T, auto Free>
using CPtr = std::unique_ptr<T, FreeWith<Free>>;

}  // namespace sase::common
