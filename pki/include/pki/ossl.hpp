// RAII handles for OpenSSL objects, spelled one way everywhere, and error draining.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace pki::ossl {

template <auto Free> struct Deleter {
  template <class T> void operator()(T* p) const noexcept { Free(p); }
};
template <class T, auto Free> using Ptr = std::unique_ptr<T, Deleter<Free>>;

using X509Ptr = Ptr<X509, &X509_free>;
using X509CrlPtr = Ptr<X509_CRL, &X509_CRL_free>;
using X509RevokedPtr = Ptr<X509_REVOKED, &X509_REVOKED_free>;
using X509NamePtr = Ptr<X509_NAME, &X509_NAME_free>;
using X509ExtensionPtr = Ptr<X509_EXTENSION, &X509_EXTENSION_free>;
using PkeyPtr = Ptr<EVP_PKEY, &EVP_PKEY_free>;
using PkeyCtxPtr = Ptr<EVP_PKEY_CTX, &EVP_PKEY_CTX_free>;
using MdCtxPtr = Ptr<EVP_MD_CTX, &EVP_MD_CTX_free>;
using BioPtr = Ptr<BIO, &BIO_free_all>;
using BnPtr = Ptr<BIGNUM, &BN_free>;
using Asn1IntegerPtr = Ptr<ASN1_INTEGER, &ASN1_INTEGER_free>;
using Asn1TimePtr = Ptr<ASN1_TIME, &ASN1_TIME_free>;
using Asn1ObjectPtr = Ptr<ASN1_OBJECT, &ASN1_OBJECT_free>;
using Asn1OctetStringPtr = Ptr<ASN1_OCTET_STRING, &ASN1_OCTET_STRING_free>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES, &GENERAL_NAMES_free>;
using Pkcs12Ptr = Ptr<PKCS12, &PKCS12_free>;
// sk_X509_free is a macro; the stack owns no certificates (they are borrowed when pushed).
inline void free_x509_stack(STACK_OF(X509) * s) noexcept {
  sk_X509_free(s);
}
using X509StackPtr = Ptr<STACK_OF(X509), &free_x509_stack>;

// Throws tlsmatrix::Error(Errc::crypto) whose message is `what` followed by the drained error
// queue.
[[noreturn]] void throw_last_error(std::string_view what);

// Drains and discards the thread's OpenSSL error queue (after an expected failure).
void clear_errors() noexcept;

// Memory BIO contents as a string.
[[nodiscard]] std::string bio_to_string(BIO& bio);

// Throws via throw_last_error when `ok` is not 1 (the usual OpenSSL success convention).
inline void check(int ok, std::string_view what) {
  if (ok != 1)
    throw_last_error(what);
}
template <class T> T* check_ptr(T* p, std::string_view what) {
  if (p == nullptr)
    throw_last_error(what);
  return p;
}

} // namespace pki::ossl
