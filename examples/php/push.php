<?php
// push.php: karmagate from the command line, through the same client your
// site uses: try the API, or push members from a cron job.
//
//   export KARMAGATE_URL=http://127.0.0.1:8080 KARMAGATE_API_KEY=…
//   php push.php put alice 150 webmasters staff    # create or replace (JSON)
//   php push.php put-form bob 60 customers         # the same as a plain form post
//   php push.php karma alice -2                    # change karma by a delta
//   php push.php show alice                        # the member, with chats and states
//   php push.php chats alice                       # one line per gated chat
//   php push.php link alice                        # a "Connect Telegram" deep link
//
// Each prints karmagate's answer as JSON; an error goes to stderr with exit
// status 1.

declare(strict_types=1);

require __DIR__ . '/config.php';

const USAGE = "usage: php push.php put|put-form ID KARMA [GROUP ...] | karma ID DELTA | show ID | chats ID | link ID\n";

function integer(string $s): int
{
    if (preg_match('/^[+-]?\d+$/', $s) !== 1) {
        fwrite(STDERR, "not an integer: $s\n" . USAGE);
        exit(2);
    }
    return (int) $s;
}

$args = array_slice($argv, 1);
$cmd = $args[0] ?? '';
$id = $args[1] ?? '';
if ($id === '') {
    fwrite(STDERR, USAGE);
    exit(2);
}
try {
    $kg = karmagate();
    switch ($cmd) {
        case 'put':
        case 'put-form':
            if (!isset($args[2])) {
                fwrite(STDERR, USAGE);
                exit(2);
            }
            $groups = array_slice($args, 3);
            $out = $cmd === 'put'
                ? $kg->putMember($id, integer($args[2]), $groups)
                : $kg->putMemberForm($id, integer($args[2]), $groups);
            break;
        case 'karma':
            $out = $kg->addKarma($id, integer($args[2] ?? ''));
            break;
        case 'show':
            $out = $kg->member($id);
            if ($out === null) {
                fwrite(STDERR, "no member $id\n");
                exit(1);
            }
            break;
        case 'chats':
            foreach ($kg->chats($id) as $chat) {
                printf("%s\t%s\t%s\t%s\n", $chat['key'], $chat['state'], $chat['join_url'] ?? '-', $chat['reason']);
            }
            exit(0);
        case 'link':
            $out = $kg->connectLink($id);
            break;
        default:
            fwrite(STDERR, USAGE);
            exit(2);
    }
} catch (KarmagateError $e) {
    fwrite(STDERR, $e->getMessage() . ($e->field !== null ? " (field {$e->field})" : '') . "\n");
    exit(1);
} catch (InvalidArgumentException $e) {
    fwrite(STDERR, $e->getMessage() . "\n");
    exit(1);
}
echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
