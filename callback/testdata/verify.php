<?php
// karmagate_verify checks a karmagate callback: the signature over the
// timestamp, a dot and the raw body, and that it was signed within five
// minutes of now. The README quotes this function.
function karmagate_verify(string $secret, string $ts, string $sig, string $body, int $now): bool
{
    if (!ctype_digit($ts) || abs($now - (int)$ts) > 300) {
        return false;
    }
    $want = 'sha256=' . hash_hmac('sha256', $ts . '.' . $body, $secret);
    return hash_equals($want, $sig);
}

// Run from the Go test: php verify.php SECRET TIMESTAMP SIGNATURE NOW < body
if (PHP_SAPI === 'cli' && isset($argv[4])) {
    $ok = karmagate_verify($argv[1], $argv[2], $argv[3], stream_get_contents(STDIN), (int)$argv[4]);
    echo $ok ? "ok\n" : "refused\n";
}
