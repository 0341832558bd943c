<?php
// connect.php: the "Connect Telegram" button's target. It asks karmagate for
// a fresh one-time deep link and sends the member to Telegram, where the bot
// links the account and answers with the chats they may join.
//
//   <a href="connect.php">Connect Telegram</a>

declare(strict_types=1);

require __DIR__ . '/config.php';

$id = current_member_id();
if ($id === null) {
    http_response_code(403);
    exit('Sign in first.');
}
try {
    $link = karmagate()->connectLink($id);
} catch (KarmagateError $e) {
    error_log($e->getMessage());
    http_response_code(502);
    exit('Telegram linking is not available right now; try again in a minute.');
}
header('Cache-Control: no-store');
header('Location: ' . $link['url'], true, 303);
