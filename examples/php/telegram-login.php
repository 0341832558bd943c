<?php
// telegram-login.php: the Telegram Login Widget's data-auth-url. Telegram
// sends the member's browser here with the signed fields in the query
// (id, first_name, …, auth_date, hash); they go to karmagate exactly as they
// came, which checks the signature with the bot's token and links the account.

declare(strict_types=1);

require __DIR__ . '/config.php';

$id = current_member_id();
if ($id === null) {
    http_response_code(403);
    exit('Sign in first.');
}
try {
    $answer = karmagate()->telegramLogin($id, $_GET);
    // 202 {"status": "confirmation_pending"}: the member is linked to
    // another Telegram account, which was asked to confirm the move.
    $result = ($answer['status'] ?? null) === 'confirmation_pending' ? 'pending' : 'linked';
} catch (KarmagateError $e) {
    error_log($e->getMessage());
    // 403: forged, older than a day, or not the account the member's
    // username names; 409: used before; 422: incomplete.
    $result = in_array($e->status, [403, 409, 422], true) ? 'refused' : 'unavailable';
}
header('Cache-Control: no-store');
header('Location: profile.php?telegram=' . $result, true, 303);
