<?php
// Test stand-in for a website's sign-in, for PHP's built-in server
// (php -S ADDR -t examples/php router.php): the member the X-Test-Member
// header names is the one signed in; then the requested page runs as is.
session_start();
$_SESSION['member_id'] = $_SERVER['HTTP_X_TEST_MEMBER'] ?? null;
return false;
