//! The fuzz checks' fixtures, made by `tests/fuzz_fixtures.rs` (do not edit): one relying party's
//! ceremony states (their challenges fixed here), a stored passkey, and a software authenticator's
//! answers to both ceremonies.

/// A registration's state (`ceremony::RegisterState` as JSON).
pub(super) const REGISTER_STATE: &str = r#"{"state":{"rs":{"allow_synchronised_authenticators":true,"authenticator_attachment":null,"challenge":"CohSgwEuAnfPnnegKLpw8dzTCENK_4bXUMM-LoxGA8M","credential_algorithms":["ES256","ES384","RS256"],"exclude_credentials":[],"extensions":{"credProps":true,"credentialProtectionPolicy":"userVerificationRequired","enforceCredentialProtectionPolicy":false,"uvm":true},"policy":"required","require_resident_key":false}},"user_handle":"11111111-1111-1111-1111-111111111111"}"#;

/// The authenticator's answer to that registration.
pub(super) const REGISTRATION: &str = r#"{"authenticatorAttachment":"platform","clientExtensionResults":{"credProps":{"rk":true}},"id":"3VMP-IxcP7wBnSuW_cx21vzjZFJKcerts5hS7m3j3fk","rawId":"3VMP-IxcP7wBnSuW_cx21vzjZFJKcerts5hS7m3j3fk","response":{"attestationObject":"o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YViko3mm9u6vuaVeN4wRgDTidR5oL6ufLTCrE9ISVYbOGUddAAAAAAAAAAAAAAAAAAAAAAAAAAAAIN1TD_iMXD-8AZ0rlv3Mdtb842RSSnHq7bOYUu5t4935pQECAyYgASFYIJN2VaStrphl-V2UE81gQvs48JP2xI4FbauaTHOM7cfbIlggpvgGFZfZcJcYvUB4krv2Ia7XeKWXCsABAKOllCQEyHc","clientDataJSON":"eyJjaGFsbGVuZ2UiOiJDb2hTZ3dFdUFuZlBubmVnS0xwdzhkelRDRU5LXzRiWFVNTS1Mb3hHQThNIiwiY3Jvc3NPcmlnaW4iOmZhbHNlLCJvcmlnaW4iOiJodHRwczovL2V4YW1wbGUuY29tIiwidHlwZSI6IndlYmF1dGhuLmNyZWF0ZSJ9","transports":["internal","hybrid"]},"type":"public-key"}"#;

/// A sign-in's state (`DiscoverableAuthentication` as JSON).
pub(super) const ASSERT_STATE: &str = r#"{"ast":{"credentials":[],"policy":"required","challenge":"OHv6g2WggSIr9Chi59rWR8X9OO_NE0HTggYk7jHZ2kI","appid":null,"allow_backup_eligible_upgrade":false}}"#;

/// The credential that registration made, stored (`StoredPasskey` as JSON).
pub(super) const STORED: &str = r#"{"passkey":{"cred":{"attestation":{"data":"None","metadata":"None"},"attestation_format":"none","backup_eligible":true,"backup_state":true,"counter":0,"cred":{"key":{"EC_EC2":{"curve":"SECP256R1","x":"k3ZVpK2umGX5XZQTzWBC-zjwk_bEjgVtq5pMc4ztx9s","y":"pvgGFZfZcJcYvUB4krv2Ia7XeKWXCsABAKOllCQEyHc"}},"type_":"ES256"},"cred_id":"3VMP-IxcP7wBnSuW_cx21vzjZFJKcerts5hS7m3j3fk","extensions":{"appid":"NotRequested","cred_props":{"Unsigned":{"rk":true}},"cred_protect":"Ignored","hmac_create_secret":"NotRequested"},"registration_policy":"required","transports":null,"user_verified":true}},"user_handle":"11111111-1111-1111-1111-111111111111","v":1}"#;

/// The authenticator's answer to that sign-in, signed by the stored credential.
pub(super) const ASSERTION: &str = r#"{"authenticatorAttachment":"platform","clientExtensionResults":{},"id":"3VMP-IxcP7wBnSuW_cx21vzjZFJKcerts5hS7m3j3fk","rawId":"3VMP-IxcP7wBnSuW_cx21vzjZFJKcerts5hS7m3j3fk","response":{"authenticatorData":"o3mm9u6vuaVeN4wRgDTidR5oL6ufLTCrE9ISVYbOGUcdAAAAAA","clientDataJSON":"eyJjaGFsbGVuZ2UiOiJPSHY2ZzJXZ2dTSXI5Q2hpNTlyV1I4WDlPT19ORTBIVGdnWWs3akhaMmtJIiwiY3Jvc3NPcmlnaW4iOmZhbHNlLCJvcmlnaW4iOiJodHRwczovL2V4YW1wbGUuY29tIiwidHlwZSI6IndlYmF1dGhuLmdldCJ9","signature":"MEQCIDxPEjOYh0ZOPeKjdDuJuGVsniE7wMB5C4t_CM14bUOMAiAviMtsrIQNg9_EyIeNpMesTr9K_DKfQ0ZYrx-u3UwEZw","userHandle":"EREREREREREREREREREREQ"},"type":"public-key"}"#;
