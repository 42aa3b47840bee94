// OpenSSL's libcrypto (Debian's libssl-dev): HMAC-SHA256, which signs Jupyter messages.
#include <openssl/evp.h>
#include <openssl/hmac.h>
