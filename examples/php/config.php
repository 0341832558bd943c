<?php
// config.php: where your site meets karmagate. Edit the three functions
// below; the pages (profile.php, connect.php, telegram-login.php) and the
// command line tool (push.php) use only them.

declare(strict_types=1);

require_once __DIR__ . '/karmagate.php';

/** The client, configured from the environment (or write the values in). */
function karmagate(): Karmagate
{
    static $client = null;
    return $client ??= new Karmagate(
        getenv('KARMAGATE_URL') ?: 'http://127.0.0.1:8080',
        (string) getenv('KARMAGATE_API_KEY'),
        ['actor' => 'website'],
    );
}

/** The bot's username without @, for the Login Widget (data-telegram-login). */
function karmagate_bot_username(): string
{
    return (string) getenv('KARMAGATE_BOT_USERNAME');
}

/**
 * The id of the member looking at the page: replace this with your site's
 * own sign-in. karmagate knows members by the ids you push (putMember), so
 * return that same id; null when nobody is signed in.
 */
function current_member_id(): ?string
{
    if (session_status() === PHP_SESSION_NONE) {
        session_start();
    }
    $id = $_SESSION['member_id'] ?? null;
    return is_string($id) && $id !== '' ? $id : null;
}

/** HTML-escapes a value for a page. */
function h(?string $s): string
{
    return htmlspecialchars($s ?? '', ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}
