"""OpenPGP through gpg: the node's GnuPG homes, key inspection and generation, the low-level
sign/verify/encrypt/decrypt calls, and the reading of gpg's status lines.

Generic machinery: nothing here knows authorities, requests or messages. It sits above
``mla.core`` (it uses ``mla.core.errors``) and below the apps that use it (the directory in
``contact_points``, the exchange in ``mla.exchange``); ``mla.core`` itself never imports it.
"""
