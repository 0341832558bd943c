<?php
// karmagate.php: a small client for karmagate's REST API (README.md, "REST
// API"). Copy it into your site; it needs PHP 8.1+ with the curl extension.
//
//   $kg = new Karmagate('https://karmagate.example.org', getenv('KARMAGATE_API_KEY'));
//   $kg->putMember('alice', 150, ['webmasters'], ['name' => 'Alice']);
//   $kg->addKarma('alice', -2);
//   $member = $kg->member('alice');          // null when karmagate does not know her
//   $url = $kg->connectLink('alice')['url']; // the "Connect Telegram" deep link
//
// Every call throws KarmagateError when karmagate refuses it (its status, the
// problem's detail and the field at fault) or cannot be reached.

declare(strict_types=1);

/** What karmagate answered with an error, or why it could not be asked. */
final class KarmagateError extends RuntimeException
{
    /** @param int $status the HTTP status, 0 when karmagate was not reached */
    public function __construct(
        string $message,
        public readonly int $status = 0,
        public readonly ?string $type = null,   // e.g. urn:karmagate:problem:invalid-field
        public readonly ?string $field = null,  // the field at fault, for a 422
    ) {
        parent::__construct($message, $status);
    }
}

final class Karmagate
{
    private string $baseUrl;
    private string $apiKey;
    private ?string $actor;
    private int $timeout;

    /**
     * @param string $baseUrl where karmagate's API is: https://your.host (behind nginx)
     *                        or http://127.0.0.1:8080 (on the same machine)
     * @param string $apiKey  KARMAGATE_API_KEY
     * @param array  $options 'actor' => who is behind the changes, recorded in
     *                        karmagate's audit trail as api:<actor> (1-64 of A-Za-z0-9._@:-);
     *                        'timeout' => seconds for one call (10)
     */
    public function __construct(string $baseUrl, string $apiKey, array $options = [])
    {
        if ($apiKey === '') {
            throw new InvalidArgumentException('karmagate: no API key (KARMAGATE_API_KEY)');
        }
        if (!function_exists('curl_init')) {
            throw new KarmagateError('karmagate: PHP\'s curl extension is not loaded: install it (apt-get install php-curl) or enable extension=curl in php.ini');
        }
        $this->baseUrl = rtrim($baseUrl, '/');
        $this->apiKey = $apiKey;
        $this->actor = $options['actor'] ?? null;
        $this->timeout = (int) ($options['timeout'] ?? 10);
    }

    /**
     * Creates or replaces a member, as JSON. PUT replaces the whole member:
     * send every field each time ($fields: 'name', 'phone' in E.164,
     * 'username' on Telegram); one left out is cleared.
     *
     * @param string[] $groups the member's groups on your site
     * @return array the member as karmagate has it now (see member())
     */
    public function putMember(string $id, int $karma, array $groups, array $fields = []): array
    {
        // (int) and array_values: karmagate refuses 150.0 and {"0":…,"2":…}.
        $body = ['karma' => $karma, 'groups' => array_values(array_map('strval', $groups))] + $fields;
        return $this->call('PUT', $this->memberPath($id), json_encode($body, JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE), 'application/json');
    }

    /**
     * The same as putMember, sent as a plain form post (what an HTML form or
     * http_build_query() gives: groups[0]=…&groups[1]=…).
     */
    public function putMemberForm(string $id, int $karma, array $groups, array $fields = []): array
    {
        $body = ['karma' => $karma, 'groups' => array_values(array_map('strval', $groups))] + $fields;
        return $this->call('PUT', $this->memberPath($id), http_build_query($body), 'application/x-www-form-urlencoded');
    }

    /**
     * Changes a member's karma by $delta, atomically: two changes at once
     * never lose one. Use it where your site adds or takes karma.
     */
    public function addKarma(string $id, int $delta): array
    {
        return $this->call('POST', $this->memberPath($id) . '/karma', http_build_query(['delta' => $delta]), 'application/x-www-form-urlencoded');
    }

    /**
     * The member: karma, groups, 'telegram' (null until linked) and 'chats',
     * each with 'key', 'title', 'state', 'reason', 'in_chat' and, while the
     * member may enter and is not in, 'join_url'. Null for an unknown member.
     */
    public function member(string $id): ?array
    {
        try {
            return $this->call('GET', $this->memberPath($id));
        } catch (KarmagateError $e) {
            if ($e->status === 404) {
                return null;
            }
            throw $e;
        }
    }

    /** The member's gated chats with their state, reason and join_url. */
    public function chats(string $id): array
    {
        return $this->member($id)['chats'] ?? [];
    }

    /**
     * A fresh one-time deep link for the "Connect Telegram" button:
     * ['url' => 'https://t.me/<bot>?start=<token>', 'expires_at' => …].
     * Make one when the member clicks, not on every page view.
     */
    public function connectLink(string $id): array
    {
        return $this->call('POST', $this->memberPath($id) . '/link');
    }

    /**
     * A deep link that moves the member to the Telegram account that opens
     * it without asking the account linked now (which is told): for a
     * member whose old account is lost, blocked the bot or did not confirm
     * in time. Give it only to the member signed in on your site.
     */
    public function replaceLink(string $id): array
    {
        return $this->call('POST', $this->memberPath($id) . '/link', '{"replace": true}', 'application/json');
    }

    /**
     * Links the member through the Telegram Login Widget: pass the widget's
     * fields exactly as Telegram gave them (its redirect's query, $_GET). An
     * added, dropped or changed field breaks the signature (403).
     */
    public function telegramLogin(string $id, array $widgetFields): array
    {
        return $this->call('POST', $this->memberPath($id) . '/telegram-login', http_build_query($widgetFields), 'application/x-www-form-urlencoded');
    }

    /** Forgets the member: unlinks them and takes them out of every chat. */
    public function deleteMember(string $id): void
    {
        $this->call('DELETE', $this->memberPath($id));
    }

    private function memberPath(string $id): string
    {
        return '/api/v1/members/' . rawurlencode($id);
    }

    private function call(string $method, string $path, ?string $body = null, ?string $contentType = null): array
    {
        $headers = ['Authorization: Bearer ' . $this->apiKey, 'Accept: application/json'];
        if ($contentType !== null) {
            $headers[] = 'Content-Type: ' . $contentType;
        }
        if ($this->actor !== null) {
            $headers[] = 'X-Karmagate-Actor: ' . $this->actor;
        }
        $ch = curl_init($this->baseUrl . $path);
        curl_setopt_array($ch, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT => $this->timeout,
            CURLOPT_CONNECTTIMEOUT => min(5, $this->timeout),
        ]);
        if ($body !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, $body);
        }
        $raw = curl_exec($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $curlError = curl_error($ch);
        curl_close($ch);
        if ($raw === false) {
            throw new KarmagateError("karmagate: $method $path: $curlError");
        }
        $data = $raw === '' ? [] : json_decode($raw, true);
        if ($status >= 400) {
            // application/problem+json: detail says what to fix.
            $detail = is_array($data) ? ($data['detail'] ?? $data['title'] ?? '') : '';
            throw new KarmagateError("karmagate: $method $path: $status $detail", $status,
                is_array($data) ? ($data['type'] ?? null) : null, is_array($data) ? ($data['field'] ?? null) : null);
        }
        if (!is_array($data)) {
            throw new KarmagateError("karmagate: $method $path: $status with a body that is not JSON", $status);
        }
        return $data;
    }
}
