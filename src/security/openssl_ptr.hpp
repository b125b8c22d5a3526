#pragma once
// Owning pointers for OpenSSL objects: std::unique_ptr with the object's own free function, so
// no early return leaks one. Internal (src/ only): no public header names an OpenSSL type.

#include <memory>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

namespace graceway::security {

template <auto Free>
struct OpenSslFree {
  template <typename T>
  void operator()(T* object) const noexcept {
    Free(object);
  }
};

using Bignum = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, OpenSslFree<EVP_MD_CTX_free>>;
using EcdsaSignature = std::unique_ptr<ECDSA_SIG, OpenSslFree<ECDSA_SIG_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using PkeyContext = std::unique_ptr<EVP_PKEY_CTX, OpenSslFree<EVP_PKEY_CTX_free>>;

}  // namespace graceway::security
