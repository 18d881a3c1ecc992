//! PKCS#8 key files.
