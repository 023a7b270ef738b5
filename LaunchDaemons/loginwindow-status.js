/* global ObjC, $ */
// Bootstrap progress over the login window, run by the LoginWindow LaunchAgent
// org.abbot.loginwindow-status as `osascript -l JavaScript loginwindow-status.js`: JavaScript for
// Automation with its Cocoa bridge, so nothing needs compiling. It shows the headline and latest
// detail from the status file the daemon writes, refreshed every second, and quits once bootstrap
// mode is cleared (after showing a failure for a while). The project's tests check the status file
// it reads; this window itself only runs on a Mac and is not exercised by them.
ObjC.import('Cocoa');

var STATUS_FILE = '/Library/Abbot/loginwindow-status.json';
var FLAG_FILE = '/Library/Abbot/bootstrap.json';
var FAILURE_SHOWN_SECONDS = 60;

function readStatus() {
  var text = $.NSString.stringWithContentsOfFileEncodingError(
    STATUS_FILE,
    $.NSUTF8StringEncoding,
    null,
  );
  if (text.isNil()) return null;
  try {
    return JSON.parse(text.js);
  } catch {
    return null; // replaced atomically, so only a file someone else broke lands here
  }
}

function label(view, y, size) {
  var field = $.NSTextField.alloc.initWithFrame($.NSMakeRect(24, y, 472, 24));
  field.editable = false;
  field.selectable = false;
  field.bezeled = false;
  field.drawsBackground = false;
  field.font = $.NSFont.systemFontOfSize(size);
  view.addSubview(field);
  return field;
}

function wait(seconds) {
  $.NSRunLoop.currentRunLoop.runUntilDate($.NSDate.dateWithTimeIntervalSinceNow(seconds));
}

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- osascript calls run()
function run() {
  var app = $.NSApplication.sharedApplication;
  app.setActivationPolicy($.NSApplicationActivationPolicyAccessory);
  var win = $.NSWindow.alloc.initWithContentRectStyleMaskBackingDefer(
    $.NSMakeRect(0, 0, 520, 150),
    $.NSWindowStyleMaskTitled,
    $.NSBackingStoreBuffered,
    false,
  );
  win.title = 'Setting up this Mac';
  win.level = $.NSStatusWindowLevel;
  var headline = label(win.contentView, 96, 15);
  var detail = label(win.contentView, 64, 12);
  var bar = $.NSProgressIndicator.alloc.initWithFrame($.NSMakeRect(24, 28, 472, 20));
  bar.indeterminate = true;
  win.contentView.addSubview(bar);
  bar.startAnimation(null);
  win.center(); // JXA: a method with no arguments may be called either way
  win.makeKeyAndOrderFront(null);
  var files = $.NSFileManager.defaultManager;
  for (;;) {
    var status = readStatus();
    headline.stringValue = status ? status.message : 'Setting up this Mac';
    detail.stringValue = status && status.detail ? status.detail : '';
    if (!files.fileExistsAtPath(FLAG_FILE)) {
      if (status && status.phase === 'failed') {
        bar.stopAnimation(null);
        var names = (status.failures || []).map(function (f) {
          return f.name;
        });
        detail.stringValue = names.length ? 'Not installed: ' + names.join(', ') : '';
        wait(FAILURE_SHOWN_SECONDS);
      }
      return;
    }
    wait(1);
  }
}
