<?php
// profile.php: the Telegram part of a member's profile page: whether their
// Telegram account is linked, a "Connect Telegram" button (connect.php) and
// the Login Widget while it is not, and each gated chat with its state, the
// reason, and a "Join" button while the member may enter. Lift the <section>
// into your own template.

declare(strict_types=1);

require __DIR__ . '/config.php';

$id = current_member_id();
if ($id === null) {
    http_response_code(403);
    exit('Sign in first.');
}
$error = null;
try {
    $member = karmagate()->member($id);
} catch (KarmagateError $e) {
    error_log($e->getMessage());
    $member = null;
    $error = 'Telegram groups are not available right now.';
}
$notices = [
    'linked' => 'Your Telegram account is linked.',
    'refused' => 'Telegram did not confirm that login; please try again.',
    'pending' => 'Your website account is linked to another Telegram account: we asked that account to confirm the move.',
    'unavailable' => 'Linking is not available right now; try again in a minute.',
];
$notice = $notices[$_GET['telegram'] ?? ''] ?? null;
$states = [
    'needs_link' => 'Connect Telegram to join',
    'eligible' => 'You may join',
    'invited' => 'Invited',
    'member' => 'In the group',
    'grace' => 'In the group, below the bar',
    'removing' => 'Leaving',
    'removed' => 'Removed',
    'exempt' => 'In the group (exempt)',
    'not_eligible' => 'Not eligible',
];
header('Cache-Control: no-store');
?>
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Telegram groups</title></head>
<body>
<section class="karmagate">
  <h2>Telegram groups</h2>
<?php if ($notice !== null): ?>
  <p class="notice"><?= h($notice) ?></p>
<?php endif ?>
<?php if ($error !== null): ?>
  <p class="error"><?= h($error) ?></p>
<?php elseif ($member === null): ?>
  <p>Your profile is not known to the Telegram gate yet.</p>
<?php else: ?>
<?php if ($member['telegram'] !== null): ?>
  <p class="telegram">Telegram: linked<?= isset($member['telegram']['username']) ? ' as @' . h($member['telegram']['username']) : '' ?>.</p>
<?php else: ?>
  <p><a class="button" href="connect.php">Connect Telegram</a></p>
<?php if (karmagate_bot_username() !== ''): ?>
  <p>Or log in with Telegram here:</p>
  <script async src="https://telegram.org/js/telegram-widget.js?22"
          data-telegram-login="<?= h(karmagate_bot_username()) ?>" data-size="large"
          data-auth-url="telegram-login.php" data-request-access="write"></script>
<?php endif ?>
<?php endif ?>
<?php if (empty($member['chats'])): ?>
  <p>No Telegram group is open to you yet.</p>
<?php else: ?>
  <table>
    <tr><th>Group</th><th>Status</th><th>Why</th><th></th></tr>
<?php foreach ($member['chats'] as $chat): ?>
    <tr class="chat" data-key="<?= h($chat['key']) ?>" data-state="<?= h($chat['state']) ?>">
      <td><?= h($chat['title']) ?></td>
      <td><?= h($chat['state'] === 'eligible' && empty($chat['join_url']) ? 'You qualify; your join link is on its way' : ($states[$chat['state']] ?? $chat['state'])) ?></td>
      <td><?= h($chat['reason']) ?></td>
      <td><?php if (!empty($chat['join_url'])): ?><a class="button" href="<?= h($chat['join_url']) ?>">Join</a><?php endif ?></td>
    </tr>
<?php endforeach ?>
  </table>
<?php endif ?>
<?php endif ?>
</section>
</body>
</html>
