// play.js: starts asciinema-player on the player page of bastion-web (issue 18). A file served by
// the portal itself, because its Content-Security-Policy allows no inline script. Reads what it
// needs from the page: the recording's address (data-src of #player) and the typed lines
// (buttons in #commands, each with the time of its Enter key), which become the player's markers.
'use strict';
(function () {
  const container = document.getElementById('player');
  const status = document.getElementById('player-status');
  if (!container || !status) return;
  if (typeof AsciinemaPlayer === 'undefined') {
    status.textContent = 'The player could not be loaded; download the recording instead.';
    return;
  }
  const buttons = Array.from(document.querySelectorAll('#commands button[data-time]'));
  const markers = buttons.map((b) => [Number(b.dataset.time), b.dataset.label]);
  const player = AsciinemaPlayer.create(container.dataset.src, container, {
    markers: markers,
    fit: 'width',
    idleTimeLimit: 2,
    preload: true,
  });
  const show = (index) => {
    buttons.forEach((b, i) => {
      if (i === index) b.setAttribute('aria-current', 'step');
      else b.removeAttribute('aria-current');
    });
  };
  buttons.forEach((button, index) => {
    button.addEventListener('click', async () => {
      await player.pause();
      await player.seek({ marker: index });
      show(index);
      status.textContent = `At typed line ${index + 1} of ${buttons.length}: ${button.dataset.label}`;
      container.dataset.marker = String(index);
    });
  });
  player.addEventListener('marker', (event) => show(event.index));
})();
