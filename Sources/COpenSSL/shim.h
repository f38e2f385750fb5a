#ifndef PDX_COPENSSL_SHIM_H
#define PDX_COPENSSL_SHIM_H

#include <openssl/crypto.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

// Function-like macros do not import into Swift; these wrap the ones the
// Cryptography module needs.

static inline long pdx_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

static inline int pdx_EVP_PKEY_ED25519(void) {
    return EVP_PKEY_ED25519;
}

#endif
