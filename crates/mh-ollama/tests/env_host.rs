//! `OLLAMA_HOST` from the environment (alone in its test binary: it sets the variable).

use mh_ollama::OllamaClient;
use mh_testkit::FakeOllama;

#[test]
fn ollama_host_from_the_environment() {
    let fake = FakeOllama::start().unwrap();
    // host:port without a scheme, quoted, as users write it in shell profiles.
    std::env::set_var("OLLAMA_HOST", format!("'{}'", fake.addr()));
    let client = OllamaClient::from_env().unwrap();
    assert_eq!(client.base_url(), fake.url());
    assert_eq!(client.version().unwrap().raw, "0.13.5");

    // A bind-all address is connected to over loopback.
    std::env::set_var("OLLAMA_HOST", format!("0.0.0.0:{}", fake.addr().port()));
    let client = OllamaClient::from_env().unwrap();
    assert_eq!(client.base_url(), fake.url());
    client.version().unwrap();

    std::env::remove_var("OLLAMA_HOST");
    assert_eq!(
        OllamaClient::from_env().unwrap().base_url(),
        "http://127.0.0.1:11434"
    );
}
